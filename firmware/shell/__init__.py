"""The imperative shell: the board's drivers put together (shell/rig.py) and the asyncio tasks
that run the pump core on them (shell/app.py). firmware/main.py starts it."""
