"""The console's own pages; each module exposes `MODULE` (city.console.modules.ConsoleModule)."""
