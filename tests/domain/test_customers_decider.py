"""The customer decider and the national-id claims: registration, changes recorded as events
(only what changed), every field's rule, and one holder per national id."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bank_desktop.domain import customers, national_ids
from bank_desktop.domain.customer_fields import national_id_key, parse_birth_date
from bank_desktop.domain.customers import (
    ChangeCustomerDetails,
    CustomerCommand,
    CustomerDetailsChanged,
    CustomerEvent,
    CustomerRegistered,
    CustomerState,
    RegisterCustomer,
)
from bank_desktop.domain.errors import (
    CustomerNotFoundError,
    DuplicateNationalIdError,
    IllegalStateError,
    ValidationError,
)
from bank_desktop.domain.national_ids import (
    ClaimNationalId,
    NationalIdClaimed,
    NationalIdCommand,
    NationalIdEvent,
    NationalIdReleased,
    NationalIdState,
    ReleaseNationalId,
)
from tests.domain.decider_spec import DeciderSpec

spec: DeciderSpec[CustomerState, CustomerCommand, CustomerEvent] = DeciderSpec(
    customers.decide, customers.evolve, customers.initial_state
)
given = spec.given
claims: DeciderSpec[NationalIdState, NationalIdCommand, NationalIdEvent] = DeciderSpec(
    national_ids.decide, national_ids.evolve, national_ids.initial_state
)

CUST = "customer-1"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


def register(
    full_name: str = "Ada Lovelace",
    national_id: str = "AB123456",
    date_of_birth: date | None = None,
    phone: str | None = None,
    address: str | None = None,
) -> RegisterCustomer:
    return RegisterCustomer(CUST, full_name, national_id, date_of_birth, phone, address, T0)


def registered(**changes: object) -> CustomerRegistered:
    base = {
        "customer_id": CUST,
        "full_name": "Ada Lovelace",
        "national_id": "AB123456",
        "date_of_birth": None,
        "phone": "+44 20 7946 0000",
        "address": None,
        "registered_at": T0,
    }
    return CustomerRegistered(**{**base, **changes})  # type: ignore[arg-type]


def change(**fields: object) -> ChangeCustomerDetails:
    base: dict[str, object] = {
        "customer_id": CUST,
        "full_name": None,
        "national_id": None,
        "date_of_birth": None,
        "phone": None,
        "address": None,
        "at": T1,
    }
    return ChangeCustomerDetails(**{**base, **fields})  # type: ignore[arg-type]


class TestRegistering:
    def test_a_customer_is_registered_with_cleaned_details(self) -> None:
        [event] = given().when(
            register(
                "  Ada   Lovelace ",
                " ab 123456 ",
                date(1990, 12, 10),
                "+44 (0)20 7946-0000",
                "12 St James's Square,  London",
            )
        )

        assert event == CustomerRegistered(
            CUST,
            "Ada Lovelace",
            "AB 123456",
            date(1990, 12, 10),
            "+44 (0)20 7946-0000",
            "12 St James's Square, London",
            T0,
        )

    def test_registering_twice_is_refused(self) -> None:
        with pytest.raises(IllegalStateError, match="already registered"):
            given(registered()).when(register())

    @pytest.mark.parametrize(
        ("name", "message"),
        [
            ("", "Full name is required."),
            ("  ", "Full name is required."),
            ("1234", "Full name must contain letters."),
            ("A" * 121, "Full name is too long: at most 120 characters."),
            ("Ada\nLovelace", "Full name must not contain control characters."),
            ("Ada\u202eLovelace", "Full name must not contain control characters."),
        ],
    )
    def test_the_full_name_is_checked(self, name: str, message: str) -> None:
        with pytest.raises(ValidationError) as caught:
            given().when(register(full_name=name))
        assert caught.value.message == message

    @pytest.mark.parametrize(
        "name",
        [
            # Persian: Mohammad-Reza Ahmadi, a non-joiner inside the first name
            "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627 \u0627\u062d\u0645\u062f\u06cc",
            "\u0d28\u0d3f\u0d24\u0d4d\u200d\u0d2f \u0d2e\u0d47\u0d28\u0d4b\u0d7a",  # Malayalam
            "\u0dc1\u0dca\u200d\u0dbb\u0dd3 \u0dbd\u0d82\u0d9a\u0dcf",  # Sinhala: a rakaaraansaya
            "\u0915\u094d\u200d\u0937 Rao",  # Devanagari half form
        ],
    )
    def test_names_in_scripts_that_join_letters_are_kept_whole(self, name: str) -> None:
        """Persian, Malayalam, Sinhala and Devanagari names are spelled with zero-width
        (non-)joiners between letters: a teller must be able to register them as written."""
        assert given().when(register(full_name=name)) == [registered(full_name=name, phone=None)]

    @pytest.mark.parametrize(
        "name",
        ["Ada\u200dLovelace", "\u200cAda Lovelace", "Ada Lovelace\u200d", "Ada \u200c Lovelace"],
    )
    def test_a_joiner_between_latin_letters_or_at_an_edge_is_refused(self, name: str) -> None:
        """Latin letters never join: there a joiner only makes a look-alike of another name."""
        with pytest.raises(ValidationError, match=r"^Full name must not contain invisible"):
            given().when(register(full_name=name))

    @pytest.mark.parametrize(
        ("national_id", "message"),
        [
            ("", "National id is required."),
            ("AB1", "National id is too short: at least 4 letters or digits."),
            ("AB#123456", "may contain only letters, digits"),
            ("X" * 33, "National id is too long: at most 32 characters."),
            ("AB\x00123456", "National id must not contain control characters."),
        ],
    )
    def test_the_national_id_is_checked(self, national_id: str, message: str) -> None:
        with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
            given().when(register(national_id=national_id))

    def test_a_birth_date_in_the_future_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="cannot be in the future"):
            given().when(register(date_of_birth=date(2024, 3, 2)))

    def test_a_birth_date_before_1900_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="before 1900-01-01"):
            given().when(register(date_of_birth=date(1815, 12, 10)))

    @pytest.mark.parametrize("phone", ["call me", "12", "+1 555 0100 ext 7"])
    def test_a_phone_is_digits_with_punctuation(self, phone: str) -> None:
        with pytest.raises(ValidationError, match=r"^Phone must be digits"):
            given().when(register(phone=phone))

    def test_parsing_a_birth_date(self) -> None:
        assert parse_birth_date(" 1990-12-31 ") == date(1990, 12, 31)
        with pytest.raises(ValidationError, match="like 1990-12-31"):
            parse_birth_date("31/12/1990")


class TestChangingDetails:
    def test_only_what_changed_is_recorded(self) -> None:
        [event] = given(registered()).when(
            change(full_name="Ada King", phone="+44 20 7946 0000", address="Ockham Park")
        )

        assert event == CustomerDetailsChanged(
            CUST, T1, full_name="Ada King", address="Ockham Park"
        )

    def test_the_state_shows_the_latest_details(self) -> None:
        state = given(
            registered(),
            CustomerDetailsChanged(CUST, T1, full_name="Ada King"),
            CustomerDetailsChanged(CUST, T1, cleared=("phone",)),
        ).state

        assert (state.full_name, state.national_id, state.phone) == ("Ada King", "AB123456", None)
        assert state.changed_at == T1

    def test_a_new_national_id_records_the_previous_one(self) -> None:
        [event] = given(registered()).when(change(national_id="cd 654321"))

        assert event == CustomerDetailsChanged(
            CUST, T1, national_id="CD 654321", previous_national_id="AB123456"
        )

    def test_clearing_an_optional_field(self) -> None:
        [event] = given(registered()).when(change(cleared=("phone", "address")))

        assert event == CustomerDetailsChanged(CUST, T1, cleared=("phone",))

    def test_the_name_and_national_id_cannot_be_cleared(self) -> None:
        with pytest.raises(ValidationError, match="can be cleared"):
            given(registered()).when(change(cleared=("full_name",)))

    def test_changing_and_clearing_one_field_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="Phone cannot be both changed and cleared"):
            given(registered()).when(change(phone="+1 555 0100", cleared=("phone",)))

    def test_nothing_to_change_is_refused(self) -> None:
        with pytest.raises(ValidationError, match=r"^Nothing to change"):
            given(registered()).when(change(full_name="Ada Lovelace", national_id="ab123456"))

    def test_an_unregistered_customer_is_refused(self) -> None:
        with pytest.raises(CustomerNotFoundError) as caught:
            given().when(change(full_name="Ada King"))
        assert caught.value.message == "Customer customer-1 is not registered."


class TestNationalIdClaims:
    def test_the_normal_form_ignores_case_spaces_and_dashes(self) -> None:
        assert national_id_key("ab 123-456") == national_id_key("AB123456") == "AB123456"
        assert national_id_key("ＡＢ１２３４５６") == "AB123456"  # full-width forms

    def test_a_free_id_is_claimed(self) -> None:
        assert claims.given().when(ClaimNationalId("AB123456", CUST, T0)) == [
            NationalIdClaimed("AB123456", CUST, T0)
        ]

    def test_an_id_held_by_another_customer_is_refused(self) -> None:
        with pytest.raises(DuplicateNationalIdError) as caught:
            claims.given(NationalIdClaimed("AB 123456", "customer-0", T0)).when(
                ClaimNationalId("AB123456", CUST, T1)
            )
        assert caught.value.message == (
            "National id AB 123456 is already registered to customer customer-0."
        )

    def test_claiming_again_for_the_same_customer_writes_nothing(self) -> None:
        assert (
            claims.given(NationalIdClaimed("AB123456", CUST, T0)).when(
                ClaimNationalId("AB123456", CUST, T1)
            )
            == []
        )

    def test_a_released_id_can_be_claimed_again(self) -> None:
        assert claims.given(
            NationalIdClaimed("AB123456", "customer-0", T0),
            NationalIdReleased("AB123456", "customer-0", T0),
        ).when(ClaimNationalId("AB123456", CUST, T1)) == [NationalIdClaimed("AB123456", CUST, T1)]

    def test_only_the_holder_releases(self) -> None:
        history = claims.given(NationalIdClaimed("AB123456", "customer-0", T0))
        assert history.when(ReleaseNationalId("AB123456", CUST, T1)) == []
        assert history.when(ReleaseNationalId("AB123456", "customer-0", T1)) == [
            NationalIdReleased("AB123456", "customer-0", T1)
        ]
