"""What a person does in the dashboard, in a real headless Chromium at desktop size and at 375
px: log in, find a lead, note it without a reload, take over a conversation and write in it
(to the Twilio double), replay a failed delivery, import a CSV and watch the bar reach 100 %,
create a key and see its secret once, move by keyboard."""

import uuid

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import AgencyMembership, ApiKey, Role
from accounts.services import membership_set, workspace_create
from crm.models import Note
from crm.normalize import parse_phone
from messaging.brains.services import brain_create
from messaging.inbound.services import inbound_receive
from messaging.lines.services import Credentials, line_connect
from messaging.models import Conversation, Message
from messaging.tasks import message_handoff
from tests.crm.support import contact_make
from tests.dashboard.conftest import failed_delivery
from tests.messaging.conftest import ACCOUNT_SID, AUTH_TOKEN, LINE_NUMBER
from webhooks.models import Delivery
from webhooks.services import endpoint_create

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 15


@pytest.fixture
def owner(django_user_model):
    workspace = workspace_create(name="Acme Dental", agency_name="Bright Agency")
    user = django_user_model.objects.create_user(username="olivia", password="correct horse battery")
    membership_set(workspace=workspace, user=user, role=Role.OWNER)
    return user, workspace


def wait(browser, condition, timeout=WAIT):
    # htmx swaps elements while we look: a vanished element means "not yet", not a failure.
    ignored = (StaleElementReferenceException, NoSuchElementException)
    return WebDriverWait(browser, timeout, ignored_exceptions=ignored).until(condition)


def login(browser, username="olivia", password="correct horse battery"):
    browser.get(browser.base + "/")
    wait(browser, ec.presence_of_element_located((By.ID, "id_username")))
    shot(browser, "login")
    browser.find_element(By.ID, "id_username").send_keys(username)
    browser.find_element(By.ID, "id_password").send_keys(password + Keys.ENTER)
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "nav.nav")))


def fits_the_screen(browser) -> bool:
    """Nothing wider than the window (no sideways scrolling of the page itself)."""
    return browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_find_a_lead_by_search_and_add_a_note_without_a_reload(browser, owner):
    _user, workspace = owner
    ada = contact_make(workspace, phone="+18187405020", email="ada@example.com", name="Ada Lovelace", message_count=6)
    contact_make(workspace, phone="+18187405030", name="Grace Hopper")
    login(browser)
    assert browser.current_url.endswith(f"/w/{workspace.pk}/leads/")
    assert fits_the_screen(browser)
    shot(browser, "leads")

    search = browser.find_element(By.ID, "id_q")
    search.send_keys("lovelace")
    wait(browser, lambda b: "Grace Hopper" not in b.find_element(By.ID, "results").text)
    results = browser.find_element(By.ID, "results").text
    assert "Ada Lovelace" in results and "hot" in results
    assert "q=lovelace" in browser.current_url  # the search is in the address, for back and reload
    shot(browser, "leads-search")

    browser.find_element(By.LINK_TEXT, "Ada Lovelace").click()
    wait(browser, ec.presence_of_element_located((By.ID, "id_body")))
    assert fits_the_screen(browser)
    browser.execute_script("window.__noReload = 'still here'")
    browser.find_element(By.ID, "id_body").send_keys("Wants a quote on Tuesday")
    browser.find_element(By.XPATH, "//button[normalize-space()='Add note']").click()
    wait(browser, lambda b: "Note: Wants a quote on Tuesday" in b.find_element(By.ID, "timeline").text)
    assert browser.execute_script("return window.__noReload") == "still here"
    assert browser.find_element(By.ID, "id_body").get_attribute("value") == ""
    assert Note.objects.get(contact=ada).body == "Wants a quote on Tuesday"
    shot(browser, "lead")


def test_move_through_leads_by_keyboard(browser, owner):
    _user, workspace = owner
    first = contact_make(workspace, phone="+18187405001", name="First Lead")
    contact_make(workspace, phone="+18187405002", name="Second Lead")
    login(browser)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("/")
    assert browser.switch_to.active_element.get_attribute("id") == "id_q"
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    browser.execute_script("document.activeElement.blur()")
    ActionChains(browser).send_keys("j").perform()
    assert browser.switch_to.active_element.text == "Second Lead"
    ActionChains(browser).send_keys("j").perform()
    assert browser.switch_to.active_element.text == "First Lead"  # newest first: Second, then First
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser, ec.url_contains(f"/leads/{first.pk}/"))


def test_take_over_a_conversation_and_write_in_it(browser, owner, twilio_api, settings):
    _user, workspace = owner
    settings.ANTHROPIC_API_KEY = ""  # the offline responder answers the lead
    brain_create(workspace=workspace, name="Front desk", is_default=True)
    line = line_connect(
        workspace=workspace,
        name="Main",
        phone=parse_phone(LINE_NUMBER, default_region="US"),
        credentials=Credentials(provider="twilio", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN),
    )
    contact_make(workspace, phone="+18187405020", name="Ada Lovelace")
    params = {"From": "whatsapp:+18187405020", "To": "whatsapp:" + LINE_NUMBER, "Body": "Do you do whitening?"}
    inbound_receive(line=line, params={**params, "MessageSid": "SM" + uuid.uuid4().hex})
    conversation = Conversation.objects.get(workspace=workspace)

    login(browser)
    browser.find_element(By.LINK_TEXT, "Conversations").click()
    wait(browser, ec.presence_of_element_located((By.ID, "conversation-list")))
    assert "Ada Lovelace" in browser.find_element(By.ID, "conversation-list").text
    assert fits_the_screen(browser)
    shot(browser, "conversations")
    browser.find_element(By.LINK_TEXT, "Ada Lovelace").click()
    wait(browser, ec.element_to_be_clickable((By.ID, "take-over"))).click()
    wait(browser, ec.presence_of_element_located((By.ID, "held-by")))
    conversation.refresh_from_db()
    assert conversation.taken_over_at is not None

    browser.execute_script("window.__noReload = 'still here'")
    browser.find_element(By.ID, "id_content").send_keys("Hi Ada, yes: $299 a session. Tuesday at 10?")
    browser.find_element(By.ID, "send").click()
    wait(browser, lambda b: "Tuesday at 10?" in b.find_element(By.ID, "transcript-messages").text)
    assert browser.execute_script("return window.__noReload") == "still here"
    assert browser.find_element(By.ID, "id_content").get_attribute("value") == ""
    sent = Message.objects.get(conversation=conversation, source="agent")
    # The worker's task (on PostgreSQL the worker process may have run it already: it is idempotent).
    message_handoff.apply(args=[sent.pk])
    wait(browser, lambda b: len(twilio_api.messages) == 1)
    assert twilio_api.messages[0]["Body"] == "Hi Ada, yes: $299 a session. Tuesday at 10?"
    assert twilio_api.messages[0]["To"] == "whatsapp:+18187405020"
    # The open transcript refreshes itself: the message's status arrives without a reload.
    wait(browser, lambda b: "sent" in b.find_elements(By.CSS_SELECTOR, "#transcript-messages [data-status]")[-1].text)
    assert fits_the_screen(browser)
    shot(browser, "conversation-taken-over")

    browser.find_element(By.ID, "hand-back").click()
    wait(browser, ec.presence_of_element_located((By.ID, "take-over")))
    conversation.refresh_from_db()
    assert conversation.taken_over_at is None
    shot(browser, "conversation-handed-back")


def test_replay_a_failed_delivery(browser, owner, receiver):
    _user, workspace = owner
    endpoint = endpoint_create(workspace=workspace, url=receiver.url).endpoint
    delivery = failed_delivery(workspace, endpoint, receiver, status=503, body=b"receiver is down")
    receiver.status = 200  # it is back up
    login(browser)
    browser.find_element(By.LINK_TEXT, "Webhooks").click()
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "[data-rows]")))
    assert "1 failed" in browser.page_source
    shot(browser, "webhooks")
    browser.find_element(By.CSS_SELECTOR, "[data-rows] a[data-row]").click()
    browser.find_element(By.LINK_TEXT, "Failed").click()
    wait(browser, ec.url_contains("status=failed"))
    shot(browser, "webhook-failed")
    browser.find_element(By.LINK_TEXT, "lead.created").click()
    wait(browser, ec.presence_of_element_located((By.ID, "replay")))
    assert "receiver is down" in browser.page_source and "HTTP 503" in browser.page_source
    shot(browser, "delivery")
    browser.find_element(By.ID, "replay").click()
    wait(browser, lambda b: "Replayed" in b.page_source)
    replay = Delivery.objects.get(replay_of=delivery)
    assert replay.event_id == delivery.event_id
    receiver.wait_for(2)  # the replay reached the receiver with the same webhook-id
    assert receiver.webhook_ids() == [str(delivery.event_id)] * 2
    shot(browser, "delivery-replayed")


def test_import_a_csv_and_watch_the_bar_reach_100(browser, owner, tmp_path):
    _user, workspace = owner
    rows = ["Full Name,Mobile,Email"] + [f"Lead {n},+1818741{n:04d},lead{n}@example.com" for n in range(600)]
    rows.append("Nobody,,")
    path = tmp_path / "leads.csv"
    path.write_text("\n".join(rows) + "\n")
    login(browser)
    browser.get(f"{browser.base}/w/{workspace.pk}/leads/import/")
    browser.find_element(By.ID, "id_file").send_keys(str(path))
    browser.find_element(By.XPATH, "//button[normalize-space()='Upload and map columns']").click()
    wait(browser, ec.presence_of_element_located((By.ID, "id_column_0")))
    assert browser.find_element(By.ID, "id_column_1").get_attribute("value") == "phone_number"
    shot(browser, "import-mapping")
    browser.find_element(By.XPATH, "//button[normalize-space()='Start the import']").click()
    bar = (By.CSS_SELECTOR, "#import-progress [role=progressbar]")
    wait(browser, ec.presence_of_element_located(bar))
    seen = set()

    def done(b):
        seen.add(b.find_element(*bar).get_attribute("aria-valuenow"))
        return "100" in seen

    wait(browser, done, timeout=90)
    wait(browser, lambda b: "600 created" in b.find_element(By.ID, "import-progress").text)
    assert "1 rejected" in browser.find_element(By.ID, "import-progress").text
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "rejected rows").is_displayed()
    assert workspace.contacts.count() == 600
    shot(browser, "import-done")


def test_create_a_key_and_see_its_secret_once(browser, owner):
    _user, workspace = owner
    login(browser)
    browser.find_element(By.LINK_TEXT, "API keys").click()
    wait(browser, ec.presence_of_element_located((By.ID, "id_name")))
    browser.find_element(By.ID, "id_name").send_keys("Website form")
    browser.find_element(By.CSS_SELECTOR, "input[name=scopes][value=intake]").click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Create key']").click()
    secret = wait(browser, ec.presence_of_element_located((By.ID, "new-key-secret"))).text
    assert secret.startswith("lh_")
    assert ApiKey.objects.get(workspace=workspace).scopes == ["intake"]
    shot(browser, "key-created")
    browser.get(f"{browser.base}/w/{workspace.pk}/keys/")
    assert secret not in browser.page_source
    assert "Website form" in browser.page_source


def test_stats_and_agency_pages_draw(browser, owner, django_user_model):
    user, workspace = owner
    contact_make(workspace, phone="+18187405001", name="Ada", source="website")
    contact_make(workspace, phone="+18187405002", source="facebook")
    AgencyMembership.objects.create(agency=workspace.agency, user=user, role=Role.OWNER)
    workspace_create(name="Second Client", agency_name="Bright Agency")
    login(browser)
    browser.find_element(By.LINK_TEXT, "Stats").click()
    wait(
        browser,
        lambda b: b.execute_script("return !!(window.Chart && Chart.getChart(document.querySelector('canvas')))"),
    )
    assert browser.execute_script("return document.querySelectorAll('canvas').length") == 4
    assert fits_the_screen(browser)
    shot(browser, "stats")
    browser.find_element(By.LINK_TEXT, "Agency").click()
    wait(browser, ec.presence_of_element_located((By.LINK_TEXT, "Second Client")))
    shot(browser, "agency")
    browser.find_element(By.LINK_TEXT, "Second Client").click()
    wait(browser, lambda b: "No leads yet" in b.page_source)
