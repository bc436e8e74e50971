"""BlazeFace face detectors (MediaPipe, Apache-2.0; see NOTICE), shipped as package data."""
