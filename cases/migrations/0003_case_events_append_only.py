"""Make case events append-only in the database itself (docs/reliability.md R15): an UPDATE or DELETE
of `cases_caseevent`, by bulk ORM calls or raw SQL, is refused on SQLite and on PostgreSQL.
(PostgreSQL's TRUNCATE, which only an administrator or a test flush runs, is not a row trigger.)"""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER case_event_no_update BEFORE UPDATE ON cases_caseevent
       BEGIN SELECT RAISE(ABORT, 'case events are append-only'); END""",
    # A deliberate purge (an administrator's, or a test database flush) first sets
    # gridcase_maintenance.allow_event_delete; the application never does. UPDATE stays refused.
    "CREATE TABLE gridcase_maintenance (allow_event_delete INTEGER NOT NULL DEFAULT 0)",
    """CREATE TRIGGER case_event_no_delete BEFORE DELETE ON cases_caseevent
       WHEN NOT EXISTS (SELECT 1 FROM gridcase_maintenance WHERE allow_event_delete = 1)
       BEGIN SELECT RAISE(ABORT, 'case events are append-only'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS case_event_no_update",
    "DROP TRIGGER IF EXISTS case_event_no_delete",
    "DROP TABLE IF EXISTS gridcase_maintenance",
]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION case_event_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'case events are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON cases_caseevent
       FOR EACH ROW EXECUTE FUNCTION case_event_append_only()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS case_event_append_only ON cases_caseevent",
    "DROP FUNCTION IF EXISTS case_event_append_only()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_cases_and_events")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        )
    ]
