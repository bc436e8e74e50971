"""Print .env.example: every XINH_* setting from xinh.settings.describe(), its help and default.

Regenerate after adding a setting (tests/test_deploy.py fails until you do):
    .venv/bin/python docker/env_example.py > .env.example
"""

from __future__ import annotations

import sys

HEADER = """\
# Xinh's settings, all of them: copy this file to .env and fill in what you need.
# Generated from xinh.settings.describe() by `python docker/env_example.py > .env.example`.
# Secrets are listed empty; every other setting is commented out at its default.
# The container image already sets XINH_DATA_DIR, XINH_MODELS_DIR and XINH_HEALTH_HOST.
"""

# Defaults computed from the machine that runs the generator, written portably instead.
PORTABLE_DEFAULTS = {"XINH_DATA_DIR": "$XDG_STATE_HOME/xinh, else ~/.local/state/xinh"}


def render(rows: list[tuple[str, str, str, bool]]) -> str:
    """The file's text for describe()'s (variable, default, help, secret) rows."""
    blocks = [HEADER]
    for name, default, help_text, secret in rows:
        if secret:
            blocks.append(f"# {help_text} (secret)\n{name}=\n")
        elif name in PORTABLE_DEFAULTS:
            blocks.append(f"# {help_text} (default: {PORTABLE_DEFAULTS[name]})\n# {name}=\n")
        else:
            blocks.append(f"# {help_text}\n# {name}={default}\n")
    return "\n".join(blocks)


def main() -> int:
    from xinh.settings import describe

    sys.stdout.write(render(describe()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
