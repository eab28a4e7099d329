"""The Kivy touchscreen app (the only package that imports kivy); see docs/kiosk-ui.md."""
