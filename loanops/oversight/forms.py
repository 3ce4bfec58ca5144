from django import forms
from django.utils.translation import gettext_lazy as _

from loanops.core.forms import StyledFormMixin


class DecisionForm(StyledFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Sign off")), ("reject", _("Reject"))], widget=forms.RadioSelect
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MonthForm(StyledFormMixin, forms.Form):
    month = forms.DateField(label=_("Month"), required=False, input_formats=["%Y-%m"],
                            widget=forms.DateInput(format="%Y-%m", attrs={"type": "month"}))  # fmt: skip
