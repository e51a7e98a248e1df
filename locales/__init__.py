"""The gettext catalogs, `<locale>/LC_MESSAGES/messages.po`: a data package, so they ship in the wheel."""
