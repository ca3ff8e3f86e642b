"""Squall's Function App: create the app and register the blueprints — nothing else."""

import azure.functions as func

from functions.ingest import bp as ingest_bp
from functions.outbox_relay import bp as outbox_relay_bp
from functions.rules_api import bp as rules_api_bp
from functions.timers import bp as timers_bp

app = func.FunctionApp()
app.register_functions(ingest_bp)
app.register_functions(outbox_relay_bp)
app.register_functions(rules_api_bp)
app.register_functions(timers_bp)
