"""Xinh's front ends: the Telegram and Discord bots and the demo page, thin over the engine."""
