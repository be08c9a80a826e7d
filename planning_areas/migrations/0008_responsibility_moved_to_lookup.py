from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('planning_areas', '0007_remove_area_indicators'),
    ]

    # Responsibility moved to atlas.lookup (app label "lookup"), which sits above both
    # planning_areas and providers. Only Django's state changes: the tables keep their
    # names (see the model's db_table), so no row moves.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='responsibility',
                    name='area',
                ),
                migrations.RemoveField(
                    model_name='responsibility',
                    name='category',
                ),
                migrations.RemoveField(
                    model_name='responsibility',
                    name='contact',
                ),
                migrations.DeleteModel(
                    name='HistoricalResponsibility',
                ),
                migrations.DeleteModel(
                    name='Responsibility',
                ),
    
            ],
            database_operations=[],
        ),
    ]
