"""The app shell: the command line, the tray, the folder picker. Drives `server/` via its runner."""
