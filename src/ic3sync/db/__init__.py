"""Everything that knows SQL: tables, migrations, the engine and the writes."""
