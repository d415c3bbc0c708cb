"""Real-time chat over socket.io (the chat issue builds it on workspace.access)."""
