"""Real parts the tests, the bench and the chaos suite share: a loopback Mosquitto, an offscreen
Kivy environment, scripted residents. Not shipped to kiosks; imports nothing from `tests`."""
