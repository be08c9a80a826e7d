"""Shared pieces of the provider models: choice lists, array fields, time stamps."""

from __future__ import annotations

from django import forms
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db import transaction
from django.utils.translation import gettext_lazy as _


class ChoiceArrayField(ArrayField):
    """An ArrayField of choices, edited as a list of checkboxes in forms."""

    def formfield(self, **kwargs):
        defaults = {
            "form_class": forms.TypedMultipleChoiceField,
            "choices": self.base_field.choices,
            "coerce": self.base_field.to_python,
            "widget": forms.CheckboxSelectMultiple,
        }
        defaults.update(kwargs)
        # Skip ArrayField.formfield, which would force a SimpleArrayField.
        return super(ArrayField, self).formfield(**defaults)


class Language(models.TextChoices):
    GERMAN = "de", _("German")
    ENGLISH = "en", _("English")
    TURKISH = "tr", _("Turkish")
    ARABIC = "ar", _("Arabic")
    RUSSIAN = "ru", _("Russian")
    UKRAINIAN = "uk", _("Ukrainian")
    POLISH = "pl", _("Polish")
    FARSI = "fa", _("Persian")
    KURDISH = "ku", _("Kurdish")
    VIETNAMESE = "vi", _("Vietnamese")
    FRENCH = "fr", _("French")
    SPANISH = "es", _("Spanish")
    SIGN = "gsg", _("German Sign Language")


class LegalBasis(models.TextChoices):
    SGB8_11 = "SGB VIII § 11", _("SGB VIII § 11 – youth work")
    SGB8_13 = "SGB VIII § 13", _("SGB VIII § 13 – youth social work")
    SGB8_14 = "SGB VIII § 14", _("SGB VIII § 14 – child and youth protection")
    SGB8_16 = "SGB VIII § 16", _("SGB VIII § 16 – general support for families")
    SGB8_17 = "SGB VIII § 17", _("SGB VIII § 17 – partnership, separation and divorce counselling")
    SGB8_18 = "SGB VIII § 18", _("SGB VIII § 18 – custody and contact support")
    SGB8_22 = "SGB VIII § 22", _("SGB VIII § 22 – day care for children")
    SGB8_27 = "SGB VIII § 27", _("SGB VIII § 27 – help with upbringing")
    SGB8_28 = "SGB VIII § 28", _("SGB VIII § 28 – child guidance")
    SGB8_29 = "SGB VIII § 29", _("SGB VIII § 29 – social group work")
    SGB8_30 = "SGB VIII § 30", _("SGB VIII § 30 – educational counsellor")
    SGB8_31 = "SGB VIII § 31", _("SGB VIII § 31 – social-pedagogical family help")
    SGB8_35A = (
        "SGB VIII § 35a",
        _("SGB VIII § 35a – integration help for children with mental disabilities"),
    )
    SGB8_41 = "SGB VIII § 41", _("SGB VIII § 41 – help for young adults")
    SGB8_8A = "SGB VIII § 8a", _("SGB VIII § 8a – protection mandate for child welfare")
    SGB9_46 = "SGB IX § 46", _("SGB IX § 46 – early intervention")
    SGB9_113 = "SGB IX § 113", _("SGB IX § 113 – social participation")
    SGB12_67 = "SGB XII § 67", _("SGB XII § 67 – help overcoming particular social difficulties")
    SGB12_71 = "SGB XII § 71", _("SGB XII § 71 – help for older people")


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modified"), auto_now=True, db_index=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # Django sends post_save after the row is written, outside any transaction of its
        # own: without this, the row could commit while its history row or derived data
        # (a location's stored planning areas) failed. Now they commit or fail together.
        with transaction.atomic():
            super().save(*args, **kwargs)
