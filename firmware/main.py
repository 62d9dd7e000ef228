"""Runs at every start of the board: the pump (shell/app.py). Hold BACK while it starts to
keep the pump stopped and have the REPL."""

from shell.app import main

main()
