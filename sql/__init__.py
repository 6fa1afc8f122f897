"""SQL migrations of the core and the built-in plugins, by owner and dialect:
``sql/<owner>/<dialect>/NNNN_name.sql`` (read by ``server.db.migrations.sql_folder``)."""
