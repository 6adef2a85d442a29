"""``python -m agent_memory`` runs the CLI."""

from agent_memory.cli import main

main()
