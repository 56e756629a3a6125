# Written by hand (plain AddField operations), so it runs the same on Django 5.2 and 6.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('library', '0002_index_and_progress'),
    ]

    operations = [
        migrations.AddField(
            model_name='watchprogress',
            name='audio',
            field=models.IntegerField(null=True),
        ),
        migrations.AddField(
            model_name='watchprogress',
            name='subtitles',
            field=models.CharField(blank=True, default='', max_length=1024),
        ),
    ]
