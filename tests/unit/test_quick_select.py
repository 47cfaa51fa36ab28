from customers.models import Customer
from runs.forms import QuickSelect, RunChecksFilterForm


def test_quick_select_marks_the_choice_and_escapes_labels(db):
    acme = Customer.objects.create(name="Acme <Backup> & Co")
    other = Customer.objects.create(name="Other")
    form = RunChecksFilterForm(data={"customer": str(acme.pk)})
    assert form.is_valid()

    html = str(form["customer"])

    assert isinstance(form.fields["customer"].widget, QuickSelect)
    assert f'<option value="{acme.pk}" selected>Acme &lt;Backup&gt; &amp; Co</option>' in html
    assert f'<option value="{other.pk}">Other</option>' in html
    assert '<option value="">All customers</option>' in html
    assert 'name="customer"' in html and 'id="id_customer"' in html and "form-select" in html
