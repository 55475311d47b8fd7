"""An import's dry run keeps the chosen files (issue 17): "Import" after "Check" needs no
second choice, and the kept files serve only the admin who chose them."""

import io
import re

from tests.test_export_import import admin, balances, db_has_group, export_zip, source  # noqa: F401

FORM = {"name": "Source Copy", "slug": "copy", "default_locale": "en",
        "coordinator_email": "coordinator@source.example.org"}


def _kept_token(body: str) -> str:
    return re.search(r'name="kept" type="hidden" value="([^"]+)"', body).group(1)


def test_import_after_a_dry_run_uses_the_kept_files(app, admin, source, make_network_admin,  # noqa: F811
                                                    client_for, login):
    content = export_zip(app, admin, "source")
    dry = admin.post("/network/import", data={
        **FORM, "members_file": (io.BytesIO(content), "source.zip"), "dry_run": "Check"})
    body = dry.get_data(as_text=True)
    assert 'id="import-ready"' in body and 'id="kept-files"' in body
    token = _kept_token(body)
    # Another admin cannot use the files this one chose.
    other = login(client_for(None), make_network_admin("other-admin@example.org").email)
    refused = other.post("/network/import", data={**FORM, "kept": token, "submit": "Import"})
    assert "Choose the members file." in refused.get_data(as_text=True)
    assert not db_has_group(app, "copy")
    done = admin.post("/network/import", data={**FORM, "kept": token, "submit": "Import"})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    assert balances(app, "copy") == balances(app, "source")
