"""Public forms of the providers app."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .editorial import ProblemReport


class ProblemReportForm(forms.ModelForm):
    """“Report a problem” on a service's public page, with a honeypot for bots."""

    # Hidden from people by CSS and aria-hidden; bots fill in every field they find.
    homepage = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    class Meta:
        model = ProblemReport
        fields = ["kind", "message", "email"]
        widgets = {"message": forms.Textarea(attrs={"rows": 5, "maxlength": 2000})}

    def is_spam(self) -> bool:
        return bool(self.data.get("homepage"))
