"""The kiosk process's plumbing, without Kivy: devices → core inputs, events → outbox, voice.

The UI owns the main loop and hands `post` (a thread-safe way to get an input onto the main
thread); everything here runs in worker threads and only ever calls `post`.
"""
