"""Test tooling: the fake Telegram (in-process and over HTTP) and the chat client that drives the
production Application through real updates. Nothing in the running bot imports this package
except the console demo."""
