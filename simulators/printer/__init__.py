"""A thermal receipt printer: ESC/POS parser, paper model, PNG/text output, transports."""
