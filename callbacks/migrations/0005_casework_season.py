"""WithdrawalRequest and StrikeCase get their candidate's season (denormalized, indexed with the
status): the season's counts and lists no longer join every row to admissions_candidate."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_season(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # check the new FK at once, or the NOT NULL below meets "pending trigger events"
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Candidate = apps.get_model("admissions", "Candidate")
    season_of = Candidate.objects.filter(pk=OuterRef("candidate_id")).values("season_id")[:1]
    for name in ("WithdrawalRequest", "StrikeCase"):
        apps.get_model("callbacks", name).objects.filter(season__isnull=True).update(
            season_id=Subquery(season_of)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("admissions", "0001_initial"),
        ("callbacks", "0004_team_sort_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="withdrawalrequest",
            name="season",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="admissions.season",
                verbose_name="招生年度",
            ),
        ),
        migrations.AddField(
            model_name="strikecase",
            name="season",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="admissions.season",
                verbose_name="招生年度",
            ),
        ),
        migrations.RunPython(fill_season, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="withdrawalrequest",
            name="season",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="admissions.season",
                verbose_name="招生年度",
            ),
        ),
        migrations.AlterField(
            model_name="strikecase",
            name="season",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="admissions.season",
                verbose_name="招生年度",
            ),
        ),
        migrations.AddIndex(
            model_name="withdrawalrequest",
            index=models.Index(fields=["season", "status"], name="withdrawal_by_season"),
        ),
        migrations.AddIndex(
            model_name="strikecase",
            index=models.Index(fields=["season", "status"], name="strike_case_by_season"),
        ),
    ]
