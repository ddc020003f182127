from defiscope.cli import app

app()
