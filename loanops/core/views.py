"""Shell pages: home, language switch, audit trail search, error pages."""

from datetime import datetime, time

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from loanops.core.api.throttling import LoginThrottle
from loanops.core.forms import LoginForm, StyledFormMixin
from loanops.core.selectors import audit_events
from loanops.org.models import HEAD_OFFICE_ROLES, Branch
from loanops.org.scoping import for_user


@login_required
def home(request):
    branches = for_user(Branch.objects.all(), request.user)[:50]
    return render(request, "core/home.html", {"branches": branches})


class LoginView(auth_views.LoginView):
    """Django's login, with a per-IP rate limit in front (django-axes locks the account too)."""

    authentication_form = LoginForm

    def post(self, request, *args, **kwargs):
        if not LoginThrottle().allow_request(request, None):
            html = render_to_string("429.html", request=request)
            return HttpResponse(html, status=429)
        return super().post(request, *args, **kwargs)


@require_POST
def set_language(request):
    language = request.POST.get("language", "")
    if language not in dict(translation.trans_real.get_languages()):
        language = translation.get_language()
    if request.user.is_authenticated:
        request.user.language = language
        request.user.save(update_fields=["language"])
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    response.set_cookie("django_language", language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


class AuditSearchForm(StyledFormMixin, forms.Form):
    model = forms.CharField(label=_("Object type"), required=False, help_text=_("e.g. loans.Loan"))
    object_id = forms.CharField(label=_("Object id"), required=False)
    username = forms.CharField(label=_("User"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


@login_required
def audit(request):
    if not (request.user.is_superuser or request.user.role in HEAD_OFFICE_ROLES):
        raise PermissionDenied
    form = AuditSearchForm(request.GET or None)
    events = []
    if form.is_valid():
        data = form.cleaned_data
        tz = timezone.get_current_timezone()
        events = audit_events(
            model=data["model"] or None,
            object_id=data["object_id"] or None,
            username=data["username"] or None,
            since=datetime.combine(data["date_from"], time.min, tz) if data["date_from"] else None,
            until=datetime.combine(data["date_to"], time.max, tz) if data["date_to"] else None,
        )
    page = Paginator(events, 50).get_page(request.GET.get("page")) if form.is_valid() else None
    return render(request, "core/audit.html", {"form": form, "page": page})


def error_403(request, exception=None):
    return render(request, "403.html", status=403)


def error_404(request, exception=None):
    return render(request, "404.html", status=404)


def error_500(request):
    return render(request, "500.html", status=500)
