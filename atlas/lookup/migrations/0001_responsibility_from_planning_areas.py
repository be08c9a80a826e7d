import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


MODELS = ("responsibility", "historicalresponsibility")


def move_content_types(old_label, new_label):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        ContentType.objects.using(db).filter(app_label=old_label, model__in=MODELS).update(
            app_label=new_label
        )

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('planning_areas', '0008_responsibility_moved_to_lookup'),
        ('providers', '0010_location_city_from_settings'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The model and its history moved here from planning_areas with their tables
    # (db_table keeps the old names): state only, plus the content types, so that
    # permissions, history and review records that point at them stay attached.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='HistoricalResponsibility',
                    fields=[
                        ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                        ('valid_from', models.DateField(blank=True, null=True, verbose_name='valid from')),
                        ('valid_until', models.DateField(blank=True, null=True, verbose_name='valid until')),
                        ('note', models.CharField(blank=True, max_length=255, verbose_name='note')),
                        ('history_id', models.AutoField(primary_key=True, serialize=False)),
                        ('history_date', models.DateTimeField(db_index=True)),
                        ('history_change_reason', models.CharField(max_length=100, null=True)),
                        ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                        ('area', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='planning_areas.area', verbose_name='planning area')),
                        ('category', models.ForeignKey(blank=True, db_constraint=False, help_text='Leave empty if the person is responsible for everything in the area.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='providers.category', verbose_name='category')),
                        ('contact', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='providers.contact', verbose_name='contact person')),
                        ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'historical responsibility',
                        'verbose_name_plural': 'historical responsibilities',
                        'db_table': 'planning_areas_historicalresponsibility',
                        'ordering': ('-history_date', '-history_id'),
                        'get_latest_by': ('history_date', 'history_id'),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name='Responsibility',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('valid_from', models.DateField(blank=True, null=True, verbose_name='valid from')),
                        ('valid_until', models.DateField(blank=True, null=True, verbose_name='valid until')),
                        ('note', models.CharField(blank=True, max_length=255, verbose_name='note')),
                        ('area', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='responsibilities', to='planning_areas.area', verbose_name='planning area')),
                        ('category', models.ForeignKey(blank=True, help_text='Leave empty if the person is responsible for everything in the area.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='responsibilities', to='providers.category', verbose_name='category')),
                        ('contact', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='responsibilities', to='providers.contact', verbose_name='contact person')),
                    ],
                    options={
                        'verbose_name': 'responsibility',
                        'verbose_name_plural': 'responsibilities',
                        'db_table': 'planning_areas_responsibility',
                        'ordering': ['area__layer__level', 'area__code'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('valid_from__isnull', True), ('valid_until__isnull', True), ('valid_from__lte', models.F('valid_until')), _connector='OR'), name='responsibility_validity_ordered')],
                    },
                ),
    
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            move_content_types("planning_areas", "lookup"),
            move_content_types("lookup", "planning_areas"),
        ),
    ]
