"""Helpers shared by the test modules (not tests themselves): the raw emulator browser, the payload paths."""
