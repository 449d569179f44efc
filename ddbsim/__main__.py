"""``python -m ddbsim ...`` is the ``ddbsim`` command."""
from __future__ import annotations

from ddbsim.cli import main_exit

main_exit()
