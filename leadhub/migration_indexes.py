"""For migrations: drop an index the database has of its own, found by its columns rather than
its name (Django names a foreign key's index with a hash), without touching the foreign key; and
the reverse, which makes it again as Django made it."""


def drop_single_column_indexes(apps, schema_editor, app_label: str, targets: list[tuple[str, str]]) -> None:
    """Drop every plain (not unique, not primary key) index on exactly this one column of each
    (model name, column) in `targets`; a database without one is left as it is."""
    connection = schema_editor.connection
    for model_name, column in targets:
        model = apps.get_model(app_label, model_name)
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
        for name, info in constraints.items():
            if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]:
                schema_editor.execute(schema_editor._delete_index_sql(model, name))


def create_single_column_indexes(apps, schema_editor, app_label: str, targets: list[tuple[str, str]]) -> None:
    """The reverse of drop_single_column_indexes: the index Django makes for a foreign key
    (db_index), with the name and definition it gives it, on each (model name, column) in
    `targets` that has no plain index of its own."""
    connection = schema_editor.connection
    for model_name, column in targets:
        model = apps.get_model(app_label, model_name)
        (field,) = [field for field in model._meta.local_fields if field.column == column]
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
        if not any(
            info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]
            for info in constraints.values()
        ):
            # What the schema editor runs for a field with db_index (_field_indexes_sql).
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))
