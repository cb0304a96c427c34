"""Bridges: the host's data offered to other systems (an MQTT broker, Home Assistant through
it), from what drivers declare about their attributes and commands, never knowing a driver.
"""
