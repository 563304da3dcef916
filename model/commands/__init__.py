"""One module per `hglabel` subcommand; each exposes register(subparsers)."""
