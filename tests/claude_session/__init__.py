"""The real Claude Code, driven by a scripted model: a stand-in for the Anthropic Messages API on loopback
(`messages_api`), the turns it plays (`turns`), the requests it receives (`received`), a user in a temporary HOME
running `claude -p` (`session`), and what our setup adds to a session (`measure`)."""
