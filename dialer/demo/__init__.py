"""`make demo` (`python -m dialer.demo`): a whole campaign through the Asterisk sandbox."""
