"""One module per fault scenario; each has `run(workdir, quick) -> Result`."""
