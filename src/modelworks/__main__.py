from modelworks.cli import app

app(prog_name="modelworks")
