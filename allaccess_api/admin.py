"""Django admin for providers and linked accounts; secrets and tokens are never shown."""

from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from allaccess_api.models import AccountAccess, PendingAuthorization, Provider


def https_formfield(field, **kwargs):
    """Build form fields whose URLs without a scheme mean https (the default from Django 6 on)."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class ProviderAdminForm(forms.ModelForm):
    client_secret = forms.CharField(
        label=_("client secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Write-only. Leave empty to keep the stored secret."),
    )
    clear_client_secret = forms.BooleanField(label=_("clear client secret"), required=False)

    class Meta:
        model = Provider
        fields = "__all__"
        formfield_callback = https_formfield

    def clean_client_secret(self):
        secret = self.cleaned_data.get("client_secret")
        if not secret and self.instance.pk:
            return Provider.objects.get(pk=self.instance.pk).client_secret
        return secret

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("clear_client_secret"):
            cleaned["client_secret"] = ""
        return cleaned


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderAdminForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "display_name", "protocol", "enabled", "has_credentials", "modified"]
    list_filter = ["protocol", "enabled"]
    search_fields = ["name", "display_name"]

    @admin.display(boolean=True, description=_("credentials"))
    def has_credentials(self, provider):
        return bool(provider.client_id and provider.client_secret)


@admin.register(AccountAccess)
class AccountAccessAdmin(admin.ModelAdmin):
    list_display = ["identifier", "provider", "user", "status", "expires_at", "modified"]
    list_filter = ["provider", "status"]
    search_fields = ["identifier", "user__username", "user__email"]
    list_select_related = ["provider", "user"]
    raw_id_fields = ["user"]
    exclude = ["access_token", "refresh_token", "token_secret"]
    readonly_fields = ["provider", "identifier", "token_type", "expires_at", "scope", "created", "modified"]

    def has_add_permission(self, request):
        # Accounts come from sign-in flows; a hand-made one would have no tokens.
        return False


@admin.register(PendingAuthorization)
class PendingAuthorizationAdmin(admin.ModelAdmin):
    list_display = ["provider", "created", "expires_at", "used_at", "user"]
    list_filter = ["provider"]
    exclude = ["pkce_verifier", "nonce"]
    readonly_fields = ["state_hash", "provider", "redirect_uri", "scope", "code_challenge", "user",
                       "created", "expires_at", "used_at"]

    def has_add_permission(self, request):
        return False
