"""The user's language as the FLORES-200 code an NLLB text encoder expects.

NLLB-CLIP models (``nllb-clip-base-siglip__v1`` etc.) read the query's language from a token
put before it: the FLORES-200 code of that language (``eng_Latn``, ``deu_Latn``...). Clients send
the language of their interface (``POST /api/search/smart`` ``language``: ``de``, ``pt-BR``,
``zh_Hant``, ``nb_NO``...); :func:`flores_code` maps it.

Source of the codes: the FLORES-200 language list of the NLLB project (Meta AI, "No Language
Left Behind", 2022; ``facebookresearch/flores`` README). The locale keys are BCP-47 / Weblate
style language tags, written lower case with ``-``.
"""

from __future__ import annotations

import re

import structlog

log = structlog.get_logger()

#: The code used when a language is unknown or not given (Immich's fallback too).
DEFAULT_FLORES = "eng_Latn"

#: A FLORES-200 code: ISO 639-3 language, ``_``, ISO 15924 script.
FLORES_RE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")

#: Locale (lower case, ``-`` separated) -> FLORES-200 code. Languages with several FLORES
#: variants map to the one NLLB's training data names for the standard written form
#: (Arabic: Modern Standard ``arb_Arab``; Persian: ``pes_Arab``; Malay: ``zsm_Latn``...).
LOCALE_TO_FLORES: dict[str, str] = {
    "af": "afr_Latn",
    "am": "amh_Ethi",
    "ar": "arb_Arab",
    "as": "asm_Beng",
    "ast": "ast_Latn",
    "az": "azj_Latn",
    "be": "bel_Cyrl",
    "bg": "bul_Cyrl",
    "bn": "ben_Beng",
    "bo": "bod_Tibt",
    "bs": "bos_Latn",
    "ca": "cat_Latn",
    "cs": "ces_Latn",
    "cy": "cym_Latn",
    "da": "dan_Latn",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "en": "eng_Latn",
    "eo": "epo_Latn",
    "es": "spa_Latn",
    "et": "est_Latn",
    "eu": "eus_Latn",
    "fa": "pes_Arab",
    "fi": "fin_Latn",
    "fil": "tgl_Latn",
    "fo": "fao_Latn",
    "fr": "fra_Latn",
    "ga": "gle_Latn",
    "gd": "gla_Latn",
    "gl": "glg_Latn",
    "gu": "guj_Gujr",
    "ha": "hau_Latn",
    "he": "heb_Hebr",
    "hi": "hin_Deva",
    "hr": "hrv_Latn",
    "ht": "hat_Latn",
    "hu": "hun_Latn",
    "hy": "hye_Armn",
    "id": "ind_Latn",
    "ig": "ibo_Latn",
    "is": "isl_Latn",
    "it": "ita_Latn",
    "ja": "jpn_Jpan",
    "jv": "jav_Latn",
    "ka": "kat_Geor",
    "kk": "kaz_Cyrl",
    "km": "khm_Khmr",
    "kn": "kan_Knda",
    "ko": "kor_Hang",
    "ku": "kmr_Latn",
    "ky": "kir_Cyrl",
    "lb": "ltz_Latn",
    "lo": "lao_Laoo",
    "lt": "lit_Latn",
    "lv": "lvs_Latn",
    "mg": "plt_Latn",
    "mi": "mri_Latn",
    "mk": "mkd_Cyrl",
    "ml": "mal_Mlym",
    "mn": "khk_Cyrl",
    "mr": "mar_Deva",
    "ms": "zsm_Latn",
    "mt": "mlt_Latn",
    "my": "mya_Mymr",
    "nb": "nob_Latn",
    "ne": "npi_Deva",
    "nl": "nld_Latn",
    "nn": "nno_Latn",
    "no": "nob_Latn",
    "oc": "oci_Latn",
    "pa": "pan_Guru",
    "pl": "pol_Latn",
    "ps": "pbt_Arab",
    "pt": "por_Latn",
    "ro": "ron_Latn",
    "ru": "rus_Cyrl",
    "sd": "snd_Arab",
    "si": "sin_Sinh",
    "sk": "slk_Latn",
    "sl": "slv_Latn",
    "so": "som_Latn",
    "sq": "als_Latn",
    "sr": "srp_Cyrl",
    "sv": "swe_Latn",
    "sw": "swh_Latn",
    "ta": "tam_Taml",
    "te": "tel_Telu",
    "tg": "tgk_Cyrl",
    "th": "tha_Thai",
    "tk": "tuk_Latn",
    "tl": "tgl_Latn",
    "tr": "tur_Latn",
    "tt": "tat_Cyrl",
    "ug": "uig_Arab",
    "uk": "ukr_Cyrl",
    "ur": "urd_Arab",
    "uz": "uzn_Latn",
    "vi": "vie_Latn",
    "xh": "xho_Latn",
    "yi": "ydd_Hebr",
    "yo": "yor_Latn",
    "yue": "yue_Hant",
    "zh": "zho_Hans",
    "zu": "zul_Latn",
    # script or region variants that change the code
    "zh-hans": "zho_Hans",
    "zh-cn": "zho_Hans",
    "zh-sg": "zho_Hans",
    "zh-simplified": "zho_Hans",
    "zh-hant": "zho_Hant",
    "zh-tw": "zho_Hant",
    "zh-hk": "zho_Hant",
    "zh-mo": "zho_Hant",
    "zh-traditional": "zho_Hant",
    "pa-arab": "pnb_Arab",
}


def _normalise(locale: str) -> str:
    return locale.strip().replace("_", "-").lower()


def flores_code(language: str | None, *, default: str = DEFAULT_FLORES) -> str:
    """The FLORES-200 code for a client's language tag.

    Tried in order: a FLORES code as given (``deu_Latn``); the whole tag (``zh-Hant``,
    ``pt_BR`` -> ``pt-br``); language and script (``sr-Latn-RS`` -> ``sr-latn``); the language
    alone (``de-AT`` -> ``de``).

    Args:
        language: A BCP-47 / Weblate language tag (``-`` or ``_``, any case), a FLORES code, or
            None.
        default: Returned for None, an empty tag or an unknown language (logged).

    Returns:
        A FLORES-200 code such as ``deu_Latn``.
    """
    if language is None or not language.strip():
        return default
    raw = language.strip()
    if FLORES_RE.match(raw):
        return raw
    tag = _normalise(raw)
    parts = tag.split("-")
    for key in (tag, "-".join(parts[:2]), parts[0]):
        code = LOCALE_TO_FLORES.get(key)
        if code is not None:
            return code
    log.warning("ml.language_unknown", language=raw[:35], used=default)
    return default
