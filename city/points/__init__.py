"""Red points (红色积分, issue 14): the ledger, the kiosks' online calls and their responder."""
