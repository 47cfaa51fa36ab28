from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def customer_list(request):
    return HttpResponse("Customers")


@login_required
def customer_detail(request, pk):
    return HttpResponse("Customer")
