"""The `kdb` command line: Click commands over the SDK (`kdb.sdk`), Rich for what people read.

main.py is the root and the error boundary; context.py the shared flags and settings;
config.py the config file and the precedence of settings; one module per group of commands.
"""
