/* One page of observed-data -> per-type occurrence columns, in C.
 *
 * huntline.fetch.stix.collect calls collect() and builds the Arrow tables from what it returns.
 * The rules are those of huntline.fetch.stix.rules (the readable reference) and
 * huntline.fetch.stix.identity; tests/unit/fetch/test_native_vs_reference.py checks that the
 * tables are equal to the reference's on every input it has, and
 * test_native_vs_reference_fuzz.py on random awkward pages.  This file only does the same work
 * without running Python code per SCO:
 *
 *  - SCOs are flattened here, plain ones (no nested dict, no name to quote or shorten) as
 *    they are and the others as plans.normalise() and plans.shortened() do.  An SCO whose
 *    names collide once shortened, or that writes an object path as a key, is compiled by
 *    the Python helper given to configure() (native.shape_parts, with plans.make_plan);
 *    when that helper has no row for it either, or the page holds anything else this file
 *    does not handle, collect() returns None and the caller flattens the page with the
 *    reference rules;
 *  - ids are computed here: uuid5 over the canonical JSON of the identifying properties
 *    (sorted keys, compact, "/" written "\/", non-ASCII kept), with OpenSSL's SHA-1.  A
 *    value the JSON writer does not handle (a float, a lone surrogate, a subclass) is
 *    serialised by the Python function given to configure(), so every byte that is hashed is
 *    the Python rules' byte.
 *
 * collect(observed, cache) returns {type: (names, columns, ids, observation indices, counts)}:
 * names in first-seen order, columns a dict name -> (values, rows): the values present and,
 * as native int32s, the occurrences they belong to; then per occurrence its id, its
 * observation's index in the page (native int32s) and its count.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

/* ------------------------------------------------------------------ SHA-1 (libcrypto) */

/* One digest context and the SHA-1 implementation, fetched once at import and reused for
 * every id: EVP_Digest() would fetch the algorithm and allocate a context per call, which
 * costs more than hashing a short name.  The GIL serialises every caller. */
static EVP_MD *SHA1_MD;
static EVP_MD_CTX *SHA1_CTX;

static void huntline_sha1(const void *data, size_t n, unsigned char out[20]) {
    unsigned int size = 20;
    /* Cannot fail once the algorithm was fetched at import (checked in PyInit). */
    EVP_DigestInit_ex2(SHA1_CTX, SHA1_MD, NULL);
    EVP_DigestUpdate(SHA1_CTX, data, n);
    EVP_DigestFinal_ex(SHA1_CTX, out, &size);
}

/* ------------------------------------------------------------------ growable bytes */

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static int buf_grow(Buf *b, size_t n) {
    size_t cap = b->cap ? b->cap : 2048;
    while (cap < b->len + n) cap *= 2;
    char *data = PyMem_Realloc(b->data, cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

/* The scratch buffer for one JSON text: each is hashed, decoded or copied before the next is
 * written, so one buffer per collect() call serves them all, without a malloc each. */
static Buf *emptied(Buf *b) {
    b->len = 0;
    return b;
}

static inline int buf_reserve(Buf *b, size_t n) {
    return b->len + n <= b->cap ? 0 : buf_grow(b, n);
}

static inline int buf_put(Buf *b, const char *p, size_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

#define BUF_LIT(b, s) buf_put((b), (s), sizeof(s) - 1)

/* ------------------------------------------------------------------ configuration */

static PyObject *ID_PROPERTIES;    /* dict type -> tuple of property names */
static PyObject *SELF_CONTAINED;   /* frozenset of types */
static PyObject *PREFERRED_HASHES; /* tuple of hash names, in preference order */
static PyObject *OBS_NAMES;        /* frozenset: the observation's own columns */
static PyObject *SKIPPED;          /* frozenset: type, spec_version, id */
static PyObject *SHAPE_PARTS;      /* (sco, cache) -> parts tuple, or None */
static PyObject *CANONICAL_JSON;   /* value -> bytes */
static PyObject *JSON_TEXT;        /* value -> str */
static PyObject *OBSERVATION_DIGEST; /* obs -> 20 bytes */
static PyObject *ID_CACHE;         /* dict: type NUL namespace name -> id (files, users recur) */
#define ID_CACHE_SIZE 200000
static unsigned char ID_NAMESPACE[16], OCCURRENCE_NAMESPACE[16];
static PyObject *NAME_KINDS;       /* dict name -> int kind (remembered: names recur) */
static PyObject *INTEGER_PROPERTIES; /* dict type -> tuple of integer property names (coerce) */
static PyObject *NOTE;             /* tally.count(what, n): something skipped, counted */
static PyObject *S_TYPE, *S_PID, *S_HASHES, *S_X_UNIQUE_ID, *S_PROCESS, *S_ASSET, *S_HOST_ID,
    *S_HOSTNAME, *S_NUMBER_OBSERVED, *S_LAST_OBSERVED, *S_FIRST_OBSERVED, *S_OBJECTS, *S_ID,
    *S_EXTENSIONS, *S_EXTENSIONS_DOT, *UNIQUE_ID_KEYS;

enum { K_NOT_PLAIN, K_SKIP, K_REF, K_REFS, K_VALUE };
enum { FIXED, ANONYMOUS, HOSTED, GENERAL }; /* plans.py's kinds, same numbers */
enum { ROLE_VALUE, ROLE_REF, ROLE_REFS };

/* Result of the JSON writer: written, or a value it does not handle (Python serialises it). */
enum { JSON_WRITTEN = 0, JSON_IN_PYTHON = 1, JSON_FAILED = -1 };

/* ------------------------------------------------------------------ JSON text */

static int str_eq(PyObject *a, PyObject *b) {
    if (a == b) return 1;
    Py_ssize_t n = PyUnicode_GET_LENGTH(a);
    if (n != PyUnicode_GET_LENGTH(b) || PyUnicode_KIND(a) != PyUnicode_KIND(b)) return 0;
    return memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b), n * PyUnicode_KIND(a)) == 0;
}

static int ends_with(PyObject *s, const char *suffix) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(s), k = (Py_ssize_t)strlen(suffix);
    if (n < k) return 0;
    for (Py_ssize_t i = 0; i < k; i++)
        if (PyUnicode_READ_CHAR(s, n - k + i) != (Py_UCS4)(unsigned char)suffix[i]) return 0;
    return 1;
}

/* A str's UTF-8 bytes and their length (NULL with an error set for a lone surrogate): ASCII
 * strings are their own UTF-8; the others' is made once and kept by the str. */
static inline const char *utf8_of(PyObject *s, Py_ssize_t *n) {
    if (PyUnicode_IS_COMPACT_ASCII(s)) {
        *n = PyUnicode_GET_LENGTH(s);
        return (const char *)PyUnicode_DATA(s);
    }
    return PyUnicode_AsUTF8AndSize(s, n);
}

/* The bytes a JSON string escapes: control characters, '"', '\\', and '/' (ujson's "\/"). */
static char ESCAPED[256];

/* Whether any of the eight bytes at ``p`` is one JSON escapes here (a control character, '"',
 * '\\' or '/'), tested on the 64-bit word at once (the bit tricks for a byte below n and a
 * byte equal to n; bytes from 0x80, UTF-8's, never match). */
static inline int may_escape(const char *p) {
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t w;
    memcpy(&w, p, 8);
#define HAS_ZERO(v) (((v) - ones) & ~(v) & highs)
    uint64_t below = (w - ones * 0x20) & ~w & highs;
    return (below | HAS_ZERO(w ^ (ones * '"')) | HAS_ZERO(w ^ (ones * '\\')) |
            HAS_ZERO(w ^ (ones * '/'))) != 0;
#undef HAS_ZERO
}

/* A custom type ("x-..."): its own dict values are JSON text, not dotted columns. */
static int is_custom(PyObject *type) {
    return PyUnicode_GET_LENGTH(type) >= 2 && PyUnicode_READ_CHAR(type, 0) == 'x' &&
           PyUnicode_READ_CHAR(type, 1) == '-';
}

static int contains_char(PyObject *s, Py_UCS4 c) {
    return PyUnicode_FindChar(s, c, 0, PyUnicode_GET_LENGTH(s), 1) >= 0;
}

/* A str as orjson writes it, then "/" as "\/" (ujson's text, which firepit hashes). */
static int write_str(Buf *b, PyObject *s) {
    Py_ssize_t n;
    const char *p = utf8_of(s, &n);
    if (p == NULL) { /* a lone surrogate: Python's fallback writes it */
        PyErr_Clear();
        return JSON_IN_PYTHON;
    }
    if (buf_reserve(b, (size_t)n + 2) < 0) return JSON_FAILED;
    b->data[b->len++] = '"';
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        while (i + 8 <= n && !may_escape(p + i)) i += 8; /* eight bytes at a time */
        if (i >= n) break;
        unsigned char c = (unsigned char)p[i];
        if (!ESCAPED[c]) continue;
        if (buf_put(b, p + start, i - start) < 0) return JSON_FAILED;
        char esc[7];
        const char *e = esc;
        size_t len = 2;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '/': e = "\\/"; break;
        case '\b': e = "\\b"; break;
        case '\t': e = "\\t"; break;
        case '\n': e = "\\n"; break;
        case '\f': e = "\\f"; break;
        case '\r': e = "\\r"; break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            len = 6;
        }
        if (buf_put(b, e, len) < 0) return JSON_FAILED;
        start = i + 1;
    }
    if (buf_put(b, p + start, n - start) < 0) return JSON_FAILED;
    return BUF_LIT(b, "\"") < 0 ? JSON_FAILED : JSON_WRITTEN;
}

typedef struct {
    PyObject *key;
    PyObject *value;
} Pair;

/* Keys in code point order, as orjson sorts them: their UTF-8 bytes compared. */
static int key_before(PyObject *a, PyObject *b) {
    Py_ssize_t na, nb;
    const char *pa = utf8_of(a, &na), *pb = utf8_of(b, &nb); /* checked by write_pairs */
    int c = memcmp(pa, pb, (size_t)(na < nb ? na : nb));
    return c ? c < 0 : na < nb;
}

/* Insertion sort: a dict here has a handful of keys. */
static void sort_pairs(Pair *pairs, Py_ssize_t n) {
    for (Py_ssize_t i = 1; i < n; i++) {
        Pair item = pairs[i];
        Py_ssize_t j = i;
        while (j > 0 && key_before(item.key, pairs[j - 1].key)) {
            pairs[j] = pairs[j - 1];
            j--;
        }
        pairs[j] = item;
    }
}

static int write_value(Buf *b, PyObject *v, int sort);

/* {"key":value,...}; sorted by the keys' UTF-8 bytes (code point order, as orjson sorts). */
static int write_pairs(Buf *b, Pair *pairs, Py_ssize_t n, int sort) {
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t ignored;
        if (!PyUnicode_CheckExact(pairs[i].key) || utf8_of(pairs[i].key, &ignored) == NULL) {
            PyErr_Clear();
            return JSON_IN_PYTHON;
        }
    }
    if (sort) sort_pairs(pairs, n);
    if (BUF_LIT(b, "{") < 0) return JSON_FAILED;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i && BUF_LIT(b, ",") < 0) return JSON_FAILED;
        int r = write_str(b, pairs[i].key);
        if (r != JSON_WRITTEN) return r;
        if (BUF_LIT(b, ":") < 0) return JSON_FAILED;
        r = write_value(b, pairs[i].value, sort);
        if (r != JSON_WRITTEN) return r;
    }
    return BUF_LIT(b, "}") < 0 ? JSON_FAILED : JSON_WRITTEN;
}

/* An int's decimal digits (snprintf's "%lld" without its format parsing, a tenth of the cost). */
static int write_int(Buf *b, long long x) {
    char digits[24], *end = digits + sizeof digits, *p = end;
    unsigned long long u = x < 0 ? 0ull - (unsigned long long)x : (unsigned long long)x;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (x < 0) *--p = '-';
    return buf_put(b, p, (size_t)(end - p));
}

static int write_value(Buf *b, PyObject *v, int sort) {
    if (PyUnicode_CheckExact(v)) return write_str(b, v);
    if (v == Py_None) return BUF_LIT(b, "null");
    if (v == Py_True) return BUF_LIT(b, "true");
    if (v == Py_False) return BUF_LIT(b, "false");
    if (PyLong_CheckExact(v)) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow) { /* decimal digits, as json.dumps (orjson refuses beyond 64 bits) */
            PyObject *text = PyObject_Str(v);
            if (text == NULL) return JSON_FAILED;
            Py_ssize_t n;
            const char *p = PyUnicode_AsUTF8AndSize(text, &n);
            int r = p == NULL ? JSON_FAILED : buf_put(b, p, n);
            Py_DECREF(text);
            return r;
        }
        return write_int(b, x);
    }
    if (PyList_CheckExact(v)) {
        if (BUF_LIT(b, "[") < 0) return JSON_FAILED;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            if (i && BUF_LIT(b, ",") < 0) return JSON_FAILED;
            int r = write_value(b, PyList_GET_ITEM(v, i), sort);
            if (r != JSON_WRITTEN) return r;
        }
        return BUF_LIT(b, "]") < 0 ? JSON_FAILED : JSON_WRITTEN;
    }
    if (PyDict_CheckExact(v)) {
        Py_ssize_t n = PyDict_GET_SIZE(v), pos = 0, i = 0;
        Pair small[16], *pairs = n <= 16 ? small : PyMem_Malloc(sizeof(Pair) * n);
        if (pairs == NULL) {
            PyErr_NoMemory();
            return JSON_FAILED;
        }
        PyObject *key, *value;
        while (PyDict_Next(v, &pos, &key, &value)) pairs[i++] = (Pair){key, value};
        int r = write_pairs(b, pairs, n, sort);
        if (pairs != small) PyMem_Free(pairs);
        return r;
    }
    return JSON_IN_PYTHON; /* floats and anything else: the Python writer */
}

/* json_text(value): a list or dict as firepit stores it. */
static PyObject *json_text(Buf *scratch, PyObject *value) {
    Buf *b = emptied(scratch);
    int r = write_value(b, value, 0);
    if (r == JSON_WRITTEN) return PyUnicode_DecodeUTF8(b->data, (Py_ssize_t)b->len, NULL);
    return r == JSON_IN_PYTHON ? PyObject_CallOneArg(JSON_TEXT, value) : NULL;
}

/* ------------------------------------------------------------------ ids */

static const char HEX[] = "0123456789abcdef";

/* ``head`` + ``sep`` + ``tail`` (ASCII) as a str, without PyUnicode_FromFormat's parsing. */
static PyObject *prefixed(PyObject *head, const char *sep, const char *tail, Py_ssize_t n) {
    Py_ssize_t k = PyUnicode_GET_LENGTH(head), s = (Py_ssize_t)strlen(sep);
    if (!PyUnicode_IS_COMPACT_ASCII(head)) {
        PyObject *rest = PyUnicode_FromStringAndSize(tail, n);
        PyObject *result = rest == NULL ? NULL : PyUnicode_FromFormat("%U%s%U", head, sep, rest);
        Py_XDECREF(rest);
        return result;
    }
    PyObject *result = PyUnicode_New(k + s + n, 127);
    if (result == NULL) return NULL;
    char *out = (char *)PyUnicode_DATA(result);
    memcpy(out, PyUnicode_DATA(head), (size_t)k);
    memcpy(out + k, sep, (size_t)s);
    memcpy(out + k + s, tail, (size_t)n);
    return result;
}

/* "<type>--<uuid5>" from a SHA-1 digest. */
static PyObject *uuid5_id(PyObject *sco_type, const unsigned char digest[20]) {
    unsigned char d[16];
    memcpy(d, digest, 16);
    d[6] = (d[6] & 0x0F) | 0x50;
    d[8] = (d[8] & 0x3F) | 0x80;
    char text[36];
    int j = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) text[j++] = '-';
        text[j++] = HEX[d[i] >> 4];
        text[j++] = HEX[d[i] & 15];
    }
    return prefixed(sco_type, "--", text, 36);
}

/* identity.IdCache.id_for: uuid5 (ID namespace) over the canonical JSON of ``given`` (left
 * in its order: the SCO's pairs may be being read by the caller), remembered by name. */
static PyObject *id_for(Buf *scratch, PyObject *sco_type, const Pair *given, Py_ssize_t n) {
    Pair small[16], *pairs = n <= 16 ? small : PyMem_Malloc(sizeof(Pair) * (size_t)n);
    if (pairs == NULL) return PyErr_NoMemory();
    memcpy(pairs, given, sizeof(Pair) * (size_t)n);
    Buf *b = emptied(scratch);
    PyObject *result = NULL, *key = NULL;
    Py_ssize_t type_length;
    const char *type = PyUnicode_AsUTF8AndSize(sco_type, &type_length);
    if (type == NULL || buf_put(b, type, (size_t)type_length + 1) < 0) goto done;
    size_t name_at = b->len;
    if (buf_put(b, (const char *)ID_NAMESPACE, 16) < 0) goto done;
    int r = write_pairs(b, pairs, n, 1);
    if (r == JSON_FAILED) goto done;
    if (r == JSON_IN_PYTHON) {
        b->len = name_at + 16;
        PyObject *contrib = PyDict_New();
        if (contrib == NULL) goto done;
        for (Py_ssize_t i = 0; i < n; i++)
            if (PyDict_SetItem(contrib, pairs[i].key, pairs[i].value) < 0) {
                Py_DECREF(contrib);
                goto done;
            }
        PyObject *text = PyObject_CallOneArg(CANONICAL_JSON, contrib);
        Py_DECREF(contrib);
        if (text == NULL) goto done;
        r = buf_put(b, PyBytes_AS_STRING(text), (size_t)PyBytes_GET_SIZE(text));
        Py_DECREF(text);
        if (r < 0) goto done;
    }
    key = PyBytes_FromStringAndSize(b->data, (Py_ssize_t)b->len);
    if (key == NULL) goto done;
    result = PyDict_GetItemWithError(ID_CACHE, key);
    if (result != NULL || PyErr_Occurred()) {
        Py_XINCREF(result);
        goto done;
    }
    unsigned char digest[20];
    huntline_sha1(b->data + name_at, b->len - name_at, digest);
    result = uuid5_id(sco_type, digest);
    if (result == NULL) goto done;
    if (PyDict_GET_SIZE(ID_CACHE) >= ID_CACHE_SIZE) PyDict_Clear(ID_CACHE);
    if (PyDict_SetItem(ID_CACHE, key, result) < 0) Py_CLEAR(result);
done:
    Py_XDECREF(key);
    if (pairs != small) PyMem_Free(pairs);
    return result;
}

/* ------------------------------------------------------------------ one observation */

typedef struct {
    PyObject *name;  /* owned */
    PyObject *value; /* owned */
    int role;
} Entry;

typedef struct {
    PyObject *key, *sco, *type; /* borrowed from the observation */
    int kind;
    PyObject *sid;               /* owned once known */
    PyObject *pid;               /* borrowed (HOSTED) */
    Py_ssize_t entries, n_entries; /* range in Obs.entries */
    Py_ssize_t pairs, n_pairs;     /* identifying properties (GENERAL), range in Obs.pairs */
} Sco;

typedef struct {
    PyObject *obs, *objects, *cache;
    Sco *scos;
    Py_ssize_t n_scos, cap_scos;
    Entry *entries;
    Py_ssize_t n_entries, cap_entries;
    Pair *pairs; /* owned keys and values */
    Py_ssize_t n_pairs, cap_pairs;
    PyObject *asset; /* borrowed; NULL: not looked up yet */
    int asset_known;
    unsigned char digest[20];
    int digest_known;
    int unsupported; /* this page needs the Python path */
    Buf scratch;     /* see emptied() */
} Obs;

static int grow(void **items, Py_ssize_t *cap, Py_ssize_t need, size_t size) {
    if (need <= *cap) return 0;
    Py_ssize_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    void *p = PyMem_Realloc(*items, (size_t)n * size);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *items = p;
    *cap = n;
    return 0;
}

static int add_entry(Obs *o, PyObject *name, PyObject *value, int role) {
    if (grow((void **)&o->entries, &o->cap_entries, o->n_entries + 1, sizeof(Entry)) < 0) return -1;
    Py_INCREF(name);
    Py_INCREF(value);
    o->entries[o->n_entries++] = (Entry){name, value, role};
    return 0;
}

static int add_pair(Obs *o, PyObject *key, PyObject *value) {
    if (grow((void **)&o->pairs, &o->cap_pairs, o->n_pairs + 1, sizeof(Pair)) < 0) return -1;
    Py_INCREF(key);
    Py_INCREF(value);
    o->pairs[o->n_pairs++] = (Pair){key, value};
    return 0;
}

/* Forget the entries from ``first`` on. */
static void drop_entries(Obs *o, Py_ssize_t first) {
    while (o->n_entries > first) {
        Entry *e = &o->entries[--o->n_entries];
        Py_DECREF(e->name);
        Py_DECREF(e->value);
    }
}

static void obs_clear(Obs *o) {
    drop_entries(o, 0);
    for (Py_ssize_t i = 0; i < o->n_pairs; i++) {
        Py_DECREF(o->pairs[i].key);
        Py_DECREF(o->pairs[i].value);
    }
    for (Py_ssize_t i = 0; i < o->n_scos; i++) Py_XDECREF(o->scos[i].sid);
    o->n_scos = o->n_pairs = 0;
    o->asset = NULL;
    o->asset_known = o->digest_known = 0;
}

static int name_kind(PyObject *name) {
    PyObject *known = PyDict_GetItemWithError(NAME_KINDS, name);
    if (known != NULL) return (int)PyLong_AsLong(known);
    if (PyErr_Occurred()) return -1;
    int kind;
    int is_skipped = PySet_Contains(SKIPPED, name), is_obs = PySet_Contains(OBS_NAMES, name);
    if (is_skipped < 0 || is_obs < 0) return -1;
    if (contains_char(name, '-') || PyUnicode_GET_LENGTH(name) > 48 ||
        PyUnicode_CompareWithASCIIString(name, "extensions") == 0)
        kind = K_NOT_PLAIN;
    else if (is_skipped || is_obs)
        kind = K_SKIP;
    else if (ends_with(name, "_ref"))
        kind = K_REF;
    else if (ends_with(name, "_refs"))
        kind = K_REFS;
    else
        kind = K_VALUE;
    if (PyDict_GET_SIZE(NAME_KINDS) >= 10000) PyDict_Clear(NAME_KINDS);
    PyObject *value = PyLong_FromLong(kind);
    if (value == NULL || PyDict_SetItem(NAME_KINDS, name, value) < 0) {
        Py_XDECREF(value);
        return -1;
    }
    Py_DECREF(value);
    return kind;
}

/* A row value as firepit stores it: lists and (custom objects') dicts as JSON text. */
static int add_value(Obs *o, PyObject *name, PyObject *value) {
    if (!PyList_CheckExact(value) && !PyDict_CheckExact(value))
        return add_entry(o, name, value, ROLE_VALUE);
    PyObject *text = json_text(&o->scratch, value);
    if (text == NULL) return -1;
    int r = add_entry(o, name, text, ROLE_VALUE);
    Py_DECREF(text);
    return r;
}

/* plans.shortened: a column under ``extensions.'<name>'.`` (or longer than 48 characters) as
 * firepit shortens it, the regex ^extensions\.'(x-)?[\w-]+'\. replaced by ``x_``. */
static PyObject *shortened(PyObject *name) {
    static const char prefix[] = "extensions.'";
    const Py_ssize_t n = PyUnicode_GET_LENGTH(name), start = sizeof prefix - 1;
    Py_ssize_t end = start;
    if (n <= 48 && PyUnicode_Find(name, S_EXTENSIONS_DOT, 0, n, 1) == -1) return Py_NewRef(name);
    for (Py_ssize_t i = 0; i < start; i++)
        if (i >= n || PyUnicode_READ_CHAR(name, i) != (Py_UCS4)prefix[i]) return Py_NewRef(name);
    while (end < n) {
        Py_UCS4 c = PyUnicode_READ_CHAR(name, end);
        if (!(Py_UNICODE_ISALNUM(c) || c == '_' || c == '-')) break;
        end++;
    }
    if (end == start || end + 1 >= n || PyUnicode_READ_CHAR(name, end) != '\'' ||
        PyUnicode_READ_CHAR(name, end + 1) != '.')
        return Py_NewRef(name);
    PyObject *rest = PyUnicode_Substring(name, end + 2, n);
    if (rest == NULL) return NULL;
    PyObject *result = PyUnicode_FromFormat("x_%U", rest);
    Py_DECREF(rest);
    return result;
}

/* plans.normalise: ``obj`` flattened under ``prefix`` (NULL at the top) into ``flat``, a list
 * of (name, value).  Returns 1 when done, 0 when the SCO needs the Python helper (a key that
 * is not a str, or an object path written as a key), -1 on error. */
static int normalise(PyObject *obj, PyObject *prefix, PyObject *flat) {
    PyObject *otype = PyDict_GetItemWithError(obj, S_TYPE);
    if (otype == NULL && PyErr_Occurred()) return -1;
    int custom = otype != NULL && PyUnicode_Check(otype) && is_custom(otype);
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) return 0;
        if (prefix == NULL) {
            int skipped = PySet_Contains(SKIPPED, key);
            if (skipped < 0) return -1;
            if (skipped) continue;
        }
        PyObject *name;
        if (contains_char(key, '-')) {
            if (contains_char(key, ':')) return 0;
            name = prefix == NULL ? PyUnicode_FromFormat("'%U'", key)
                                  : PyUnicode_FromFormat("%U.'%U'", prefix, key);
        } else {
            name = prefix == NULL ? Py_NewRef(key) : PyUnicode_FromFormat("%U.%U", prefix, key);
        }
        if (name == NULL) return -1;
        int r;
        if (PyDict_Check(value) && (!custom || str_eq(key, S_EXTENSIONS))) {
            r = PyDict_CheckExact(value) ? normalise(value, name, flat) : 0;
        } else {
            PyObject *pair = PyTuple_Pack(2, name, value);
            r = pair == NULL ? -1 : PyList_Append(flat, pair) == 0;
            Py_XDECREF(pair);
        }
        Py_DECREF(name);
        if (r != 1) return r;
    }
    return 1;
}

/* Whether an integer property of ``sco`` (coerce.INTEGER_PROPERTIES) holds something other
 * than an int or None: plans.make_plan then coerces it, in Python. */
static int ill_typed(Sco *sco) {
    PyObject *names = PyDict_GetItemWithError(INTEGER_PROPERTIES, sco->type);
    if (names == NULL) return PyErr_Occurred() ? -1 : 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *value = PyDict_GetItemWithError(sco->sco, PyTuple_GET_ITEM(names, i));
        if (value == NULL && PyErr_Occurred()) return -1;
        if (value != NULL && value != Py_None && !PyLong_CheckExact(value)) return 1;
    }
    return 0;
}

/* Flatten an SCO (plans.make_plan): a plain one (no nested dict, no name to quote,
 * shorten or nest) as it is, any other with normalise() and shortened names.
 * Returns 1 when done, 0 when the SCO needs the Python helper, -1 on error. */
static int flatten_here(Obs *o, Sco *sco) {
    PyObject *name, *value;
    Py_ssize_t pos = 0, first = o->n_entries;
    int plain = 1;
    int ill = ill_typed(sco);
    if (ill != 0) return ill < 0 ? -1 : 0;
    while (plain && PyDict_Next(sco->sco, &pos, &name, &value)) { /* most SCOs: one pass */
        if (!PyUnicode_CheckExact(name)) return 0;
        int kind = name_kind(name), r = 0;
        if (kind < 0) return -1;
        plain = kind != K_NOT_PLAIN && !PyDict_CheckExact(value);
        if (!plain)
            drop_entries(o, first);
        else if (kind == K_VALUE)
            r = add_value(o, name, value);
        else if (kind == K_REF)
            r = add_entry(o, name, value, ROLE_REF);
        else if (kind == K_REFS)
            r = add_entry(o, name, value, ROLE_REFS);
        if (r < 0) return -1;
    }
    if (plain) return 1;
    PyObject *flat = PyList_New(0), *names = PySet_New(NULL);
    int r = flat == NULL || names == NULL ? -1 : normalise(sco->sco, NULL, flat);
    for (Py_ssize_t i = 0; r == 1 && i < PyList_GET_SIZE(flat); i++) {
        PyObject *pair = PyList_GET_ITEM(flat, i);
        PyObject *short_name = shortened(PyTuple_GET_ITEM(pair, 0));
        value = PyTuple_GET_ITEM(pair, 1);
        int known = short_name == NULL ? -1 : PySet_Contains(names, short_name);
        int is_obs = known < 0 ? -1 : PySet_Contains(OBS_NAMES, short_name);
        if (known < 0 || is_obs < 0 || PySet_Add(names, short_name) < 0)
            r = -1;
        else if (known) /* a collision (or a name met twice): the Python rules decide */
            r = 0;
        else if (ends_with(short_name, "_ref"))
            r = add_entry(o, short_name, value, ROLE_REF) < 0 ? -1 : 1;
        else if (ends_with(short_name, "_refs"))
            r = add_entry(o, short_name, value, ROLE_REFS) < 0 ? -1 : 1;
        else if (!is_obs)
            r = add_value(o, short_name, value) < 0 ? -1 : 1;
        Py_XDECREF(short_name);
    }
    Py_XDECREF(flat);
    Py_XDECREF(names);
    return r;
}

/* ``name.strip("'")``. */
static PyObject *unquoted(PyObject *name) {
    Py_ssize_t start = 0, end = PyUnicode_GET_LENGTH(name);
    while (start < end && PyUnicode_READ_CHAR(name, start) == '\'') start++;
    while (end > start && PyUnicode_READ_CHAR(name, end - 1) == '\'') end--;
    return PyUnicode_Substring(name, start, end);
}

/* identity.identifying_properties(sco, None, None, ...) into Obs.pairs. */
static int identifying_pairs(Obs *o, Sco *sco, PyObject *props) {
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(props); i++) {
        PyObject *prop = PyTuple_GET_ITEM(props, i);
        PyObject *value = PyDict_GetItemWithError(sco->sco, prop);
        if (value == NULL) {
            if (PyErr_Occurred()) return -1;
            continue;
        }
        if (!str_eq(prop, S_HASHES)) {
            if (add_pair(o, prop, value) < 0) return -1;
            continue;
        }
        if (!PyDict_Check(value) || PyDict_GET_SIZE(value) == 0) continue;
        PyObject *chosen = NULL;
        for (Py_ssize_t h = 0; h < PyTuple_GET_SIZE(PREFERRED_HASHES); h++) {
            PyObject *found = PyDict_GetItemWithError(value, PyTuple_GET_ITEM(PREFERRED_HASHES, h));
            if (found == NULL && PyErr_Occurred()) return -1;
            int truthy = found == NULL ? 0 : PyObject_IsTrue(found);
            if (truthy < 0) return -1;
            if (truthy) {
                chosen = PyTuple_GET_ITEM(PREFERRED_HASHES, h);
                break;
            }
        }
        if (chosen == NULL) { /* the alphabetically first key */
            PyObject *key, *ignored;
            Py_ssize_t at = 0;
            while (PyDict_Next(value, &at, &key, &ignored)) {
                if (!PyUnicode_CheckExact(key)) {
                    o->unsupported = 1;
                    return 0;
                }
                if (chosen == NULL || PyUnicode_Compare(key, chosen) < 0) chosen = key;
            }
        }
        PyObject *stripped = unquoted(chosen);
        PyObject *contrib = stripped == NULL ? NULL : PyDict_New();
        int r = contrib == NULL ? -1
                                : PyDict_SetItem(contrib, stripped, PyDict_GetItem(value, chosen));
        if (r == 0) r = add_pair(o, S_HASHES, contrib);
        Py_XDECREF(stripped);
        Py_XDECREF(contrib);
        if (r < 0) return -1;
    }
    return 0;
}

/* identity._extension_unique_id: the first truthy process id key of the first extension
 * that has one (borrowed), or NULL. */
static PyObject *extension_unique_id(PyObject *sco) {
    PyObject *extensions = PyDict_GetItemWithError(sco, S_EXTENSIONS);
    if (extensions == NULL || !PyDict_Check(extensions)) return NULL;
    PyObject *name, *extension;
    Py_ssize_t pos = 0;
    while (PyDict_Next(extensions, &pos, &name, &extension)) {
        if (!PyDict_Check(extension)) continue;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(UNIQUE_ID_KEYS); i++) {
            PyObject *found = PyDict_GetItemWithError(extension, PyTuple_GET_ITEM(UNIQUE_ID_KEYS, i));
            if (found == NULL && PyErr_Occurred()) return NULL;
            int truthy = found == NULL ? 0 : PyObject_IsTrue(found);
            if (truthy < 0) return NULL;
            if (truthy) return found;
        }
    }
    return NULL;
}

/* How ``sco`` gets its id, flattened here (plans.make_plan's rules). */
static int decide_kind(Obs *o, Sco *sco) {
    PyObject *props = PyDict_GetItemWithError(ID_PROPERTIES, sco->type);
    if (props == NULL && PyErr_Occurred()) return -1;
    int self_contained = PySet_Contains(SELF_CONTAINED, sco->type);
    if (self_contained < 0) return -1;
    if (self_contained || str_eq(sco->type, S_PROCESS)) {
        Py_ssize_t first = o->n_pairs;
        if (identifying_pairs(o, sco, props) < 0) return -1;
        if (o->n_pairs == first && !self_contained) { /* a unique id in an extension */
            PyObject *unique = extension_unique_id(sco->sco);
            if (unique == NULL && PyErr_Occurred()) return -1;
            if (unique != NULL && add_pair(o, S_X_UNIQUE_ID, unique) < 0) return -1;
        }
        Py_ssize_t n = o->n_pairs - first;
        if (n > 0) {
            sco->kind = FIXED;
            sco->sid = id_for(&o->scratch, sco->type, o->pairs + first, n);
            return sco->sid == NULL ? -1 : 0;
        }
        if (self_contained) {
            sco->kind = ANONYMOUS;
        } else {
            sco->kind = HOSTED;
            sco->pid = PyDict_GetItemWithError(sco->sco, S_PID);
            if (sco->pid == NULL && PyErr_Occurred()) return -1;
        }
        return 0;
    }
    if (props == NULL) {
        sco->kind = ANONYMOUS;
        return 0;
    }
    sco->kind = GENERAL;
    sco->pairs = o->n_pairs;
    if (identifying_pairs(o, sco, props) < 0) return -1;
    sco->n_pairs = o->n_pairs - sco->pairs;
    return 0;
}

/* An SCO this file does not flatten: the Python helper's parts
 * (entries, kind, sid, pid, identifying pairs), or None for the Python path. */
static int flatten_in_python(Obs *o, Sco *sco) {
    PyObject *parts = PyObject_CallFunctionObjArgs(SHAPE_PARTS, sco->sco, o->cache, NULL);
    if (parts == NULL) return -1;
    if (parts == Py_None) {
        Py_DECREF(parts);
        o->unsupported = 1;
        return 0;
    }
    PyObject *entries = PyTuple_GET_ITEM(parts, 0);
    int r = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(entries) && r == 0; i++) {
        PyObject *entry = PyList_GET_ITEM(entries, i);
        r = add_entry(o, PyTuple_GET_ITEM(entry, 0), PyTuple_GET_ITEM(entry, 1),
                      (int)PyLong_AsLong(PyTuple_GET_ITEM(entry, 2)));
    }
    sco->kind = (int)PyLong_AsLong(PyTuple_GET_ITEM(parts, 1));
    PyObject *sid = PyTuple_GET_ITEM(parts, 2);
    if (sid != Py_None) sco->sid = Py_NewRef(sid);
    /* plan.pid: the SCO keeps it alive, or (a coerced pid) its own "pid" entry does */
    sco->pid = PyTuple_GET_ITEM(parts, 3);
    PyObject *pairs = PyTuple_GET_ITEM(parts, 4);
    sco->pairs = o->n_pairs;
    for (Py_ssize_t i = 0; r == 0 && pairs != Py_None && i < PyList_GET_SIZE(pairs); i++) {
        PyObject *pair = PyList_GET_ITEM(pairs, i);
        r = add_pair(o, PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1));
    }
    sco->n_pairs = o->n_pairs - sco->pairs;
    Py_DECREF(parts);
    return r;
}

static Sco *local_sco(Obs *o, PyObject *key) {
    if (!PyUnicode_CheckExact(key)) return NULL;
    PyObject *target = PyDict_GetItemWithError(o->objects, key);
    if (target == NULL) {
        PyErr_Clear();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < o->n_scos; i++)
        if (o->scos[i].sco == target && str_eq(o->scos[i].key, key)) return &o->scos[i];
    return NULL;
}

static PyObject *id_of(Obs *o, Sco *sco);

/* identity.occurrence_id: uuid5 over the observation's content digest and the SCO's key. */
static PyObject *anonymous_id(Obs *o, PyObject *sco_type, PyObject *key) {
    if (!o->digest_known) {
        PyObject *content[4][2] = {{S_FIRST_OBSERVED, NULL},
                                   {S_LAST_OBSERVED, NULL},
                                   {S_NUMBER_OBSERVED, NULL},
                                   {S_OBJECTS, NULL}};
        Pair pairs[4];
        for (int i = 0; i < 4; i++) {
            PyObject *value = PyDict_GetItemWithError(o->obs, content[i][0]);
            if (value == NULL && PyErr_Occurred()) return NULL;
            pairs[i] = (Pair){content[i][0], value == NULL ? Py_None : value};
        }
        Buf *b = emptied(&o->scratch);
        int r = write_pairs(b, pairs, 4, 1);
        if (r == JSON_WRITTEN) huntline_sha1(b->data, b->len, o->digest);
        if (r == JSON_FAILED) return NULL;
        if (r == JSON_IN_PYTHON) {
            PyObject *digest = PyObject_CallOneArg(OBSERVATION_DIGEST, o->obs);
            if (digest == NULL) return NULL;
            memcpy(o->digest, PyBytes_AS_STRING(digest), 20);
            Py_DECREF(digest);
        }
        o->digest_known = 1;
    }
    Py_ssize_t n;
    const char *k = PyUnicode_AsUTF8AndSize(key, &n);
    if (k == NULL) return NULL;
    char small[128];
    size_t size = 36 + (size_t)n;
    char *name = size <= sizeof small ? small : PyMem_Malloc(size);
    if (name == NULL) return PyErr_NoMemory();
    memcpy(name, OCCURRENCE_NAMESPACE, 16);
    memcpy(name + 16, o->digest, 20);
    memcpy(name + 36, k, (size_t)n);
    unsigned char digest[20];
    huntline_sha1(name, size, digest);
    if (name != small) PyMem_Free(name);
    return uuid5_id(sco_type, digest);
}

/* identity.asset_id: host id (or hostname) of the observation's first x-oca-asset with one. */
static PyObject *asset_of(Obs *o) {
    if (o->asset_known) return o->asset;
    PyObject *key, *sco;
    Py_ssize_t pos = 0;
    o->asset = NULL;
    while (o->asset == NULL && PyDict_Next(o->objects, &pos, &key, &sco)) {
        if (!PyDict_Check(sco)) continue;
        PyObject *type = PyDict_GetItem(sco, S_TYPE);
        if (type == NULL || !PyUnicode_Check(type) || !str_eq(type, S_ASSET)) continue;
        o->asset = PyDict_GetItem(sco, S_HOST_ID);
        if (o->asset == NULL) o->asset = PyDict_GetItem(sco, S_HOSTNAME);
    }
    o->asset_known = 1;
    return o->asset;
}

static PyObject *hosted_id(Obs *o, Sco *sco) {
    PyObject *asset = asset_of(o);
    int has_pid = sco->pid == NULL ? 0 : PyObject_IsTrue(sco->pid);
    int has_asset = asset == NULL ? 0 : PyObject_IsTrue(asset);
    if (has_pid < 0 || has_asset < 0) return NULL;
    if (!(has_pid && has_asset)) return anonymous_id(o, S_PROCESS, sco->key);
    PyObject *last = PyDict_GetItem(o->obs, S_LAST_OBSERVED);
    PyObject *unique =
        PyUnicode_FromFormat("%S_%S_%S", sco->pid, asset, last == NULL ? Py_None : last);
    if (unique == NULL) return NULL;
    Pair pair = {S_X_UNIQUE_ID, unique};
    PyObject *result = id_for(&o->scratch, S_PROCESS, &pair, 1);
    Py_DECREF(unique);
    return result;
}

/* A reference target's id the way firepit computes it: without the observation. */
static PyObject *target_id(Obs *o, Sco *target) {
    if (target->kind == FIXED) return Py_NewRef(target->sid);
    if (target->kind != GENERAL || target->n_pairs == 0) return Py_XNewRef(id_of(o, target));
    return id_for(&o->scratch, target->type, o->pairs + target->pairs, target->n_pairs);
}

static PyObject *general_id(Obs *o, Sco *sco) {
    Pair *pairs = PyMem_Malloc(sizeof(Pair) * (size_t)(sco->n_pairs + 1));
    PyObject **owned = PyMem_Malloc(sizeof(PyObject *) * (size_t)(sco->n_pairs + 1));
    Py_ssize_t n = 0, n_owned = 0;
    PyObject *result = NULL;
    if (pairs == NULL || owned == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < sco->n_pairs; i++) {
        Pair pair = o->pairs[sco->pairs + i];
        if (!ends_with(pair.key, "_ref")) {
            pairs[n++] = pair;
            continue;
        }
        if (!PyUnicode_Check(pair.value)) continue;
        if (!PyUnicode_CheckExact(pair.value)) { /* a str subclass: left to the Python path */
            o->unsupported = 1;
            goto done;
        }
        Sco *target = local_sco(o, pair.value);
        if (target == NULL) continue; /* not an SCO of this observation: dropped */
        PyObject *tid = target_id(o, target);
        if (tid == NULL) goto done;
        owned[n_owned++] = tid;
        pairs[n++] = (Pair){pair.key, tid};
    }
    result = n ? id_for(&o->scratch, sco->type, pairs, n) : anonymous_id(o, sco->type, sco->key);
done:
    for (Py_ssize_t i = 0; i < n_owned; i++) Py_DECREF(owned[i]);
    PyMem_Free(pairs);
    PyMem_Free(owned);
    return result;
}

/* The SCO's id (borrowed; owned by the SCO), computed on demand: references need targets'. */
static PyObject *id_of(Obs *o, Sco *sco) {
    if (sco->sid != NULL) return sco->sid;
    PyObject *sid; /* no cycle: a target's id never needs its referrer's */
    if (sco->kind == ANONYMOUS)
        sid = anonymous_id(o, sco->type, sco->key);
    else if (sco->kind == HOSTED)
        sid = hosted_id(o, sco);
    else
        sid = general_id(o, sco);
    sco->sid = sid;
    return sid;
}

/* ------------------------------------------------------------------ per-type columns */

typedef struct {
    PyObject *names, *columns, *ids, *obs, *counts; /* owned by the result tuple */
} Columns;

static int columns_of(PyObject *types, PyObject *sco_type, Columns *c) {
    PyObject *found = PyDict_GetItemWithError(types, sco_type);
    if (found == NULL) {
        if (PyErr_Occurred()) return -1;
        found = Py_BuildValue("(NNNNN)", PyList_New(0), PyDict_New(), PyList_New(0),
                              PyByteArray_FromStringAndSize(NULL, 0), PyList_New(0));
        if (found == NULL) return -1;
        int r = PyDict_SetItem(types, sco_type, found);
        Py_DECREF(found);
        if (r < 0) return -1;
    }
    c->names = PyTuple_GET_ITEM(found, 0);
    c->columns = PyTuple_GET_ITEM(found, 1);
    c->ids = PyTuple_GET_ITEM(found, 2);
    c->obs = PyTuple_GET_ITEM(found, 3);
    c->counts = PyTuple_GET_ITEM(found, 4);
    return 0;
}

/* A value of column ``name`` at row ``position``: columns are sparse, (values, rows) with the
 * rows as native int32s, so a column most occurrences lack costs nothing per occurrence. */
static int append_int32(PyObject *bytes, Py_ssize_t value) {
    Py_ssize_t size = PyByteArray_GET_SIZE(bytes);
    if (PyByteArray_Resize(bytes, size + 4) < 0) return -1;
    int32_t item = (int32_t)value;
    memcpy(PyByteArray_AS_STRING(bytes) + size, &item, 4);
    return 0;
}

static int put(Columns *c, Py_ssize_t position, PyObject *name, PyObject *value) {
    PyObject *column = PyDict_GetItemWithError(c->columns, name);
    if (column == NULL) {
        if (PyErr_Occurred()) return -1;
        column = Py_BuildValue("(NN)", PyList_New(0), PyByteArray_FromStringAndSize(NULL, 0));
        if (column == NULL) return -1;
        int r = PyDict_SetItem(c->columns, name, column);
        Py_DECREF(column);
        if (r < 0 || PyList_Append(c->names, name) < 0) return -1;
    }
    if (append_int32(PyTuple_GET_ITEM(column, 1), position) < 0) return -1;
    return PyList_Append(PyTuple_GET_ITEM(column, 0), value);
}

/* One observation's occurrences into ``types`` (rules._Page.add's loop). */
static int add_occurrences(Obs *o, PyObject *types, Py_ssize_t index) {
    PyObject *count = PyDict_GetItem(o->obs, S_NUMBER_OBSERVED);
    if (count == NULL) count = Py_None;
    PyObject *zero = PyLong_FromLong(0);
    int r = zero == NULL ? -1 : 0;
    for (Py_ssize_t i = 0; r == 0 && i < o->n_scos; i++) {
        Sco *sco = &o->scos[i];
        PyObject *sid = id_of(o, sco);
        if (sid == NULL) {
            r = -1;
            break;
        }
        int seen = 0;
        for (Py_ssize_t j = 0; j < i && !seen; j++) seen = str_eq(o->scos[j].sid, sid);
        Columns c;
        if (columns_of(types, sco->type, &c) < 0) {
            r = -1;
            break;
        }
        Py_ssize_t position = PyList_GET_SIZE(c.ids);
        if (PyList_Append(c.ids, sid) < 0 || append_int32(c.obs, index) < 0 ||
            PyList_Append(c.counts, seen ? zero : count) < 0) {
            r = -1;
            break;
        }
        for (Py_ssize_t e = 0; r == 0 && e < sco->n_entries; e++) {
            Entry *entry = &o->entries[sco->entries + e];
            if (entry->role == ROLE_VALUE) {
                r = put(&c, position, entry->name, entry->value);
            } else if (entry->role == ROLE_REF) {
                Sco *target = local_sco(o, entry->value);
                if (target == NULL) continue; /* dangling: firepit drops it */
                PyObject *tid = id_of(o, target);
                r = tid == NULL ? -1 : put(&c, position, entry->name, tid);
            } else {
                PyObject *targets = entry->value;
                PyObject *resolved = PyList_New(0);
                int listed = PyList_Check(targets);
                Py_ssize_t n = listed ? PyList_GET_SIZE(targets) : 1;
                for (Py_ssize_t t = 0; resolved != NULL && r == 0 && t < n; t++) {
                    PyObject *key = listed ? PyList_GET_ITEM(targets, t) : targets;
                    if (PyUnicode_CheckExact(key) && str_eq(key, sco->key)) continue;
                    Sco *target = local_sco(o, key);
                    if (target == NULL) continue;
                    PyObject *tid = id_of(o, target);
                    r = tid == NULL ? -1 : PyList_Append(resolved, tid);
                }
                if (resolved == NULL) r = -1;
                if (r == 0 && PyList_GET_SIZE(resolved) > 0) {
                    PyObject *text = json_text(&o->scratch, resolved);
                    r = text == NULL ? -1 : put(&c, position, entry->name, text);
                    Py_XDECREF(text);
                }
                Py_XDECREF(resolved);
            }
        }
    }
    Py_XDECREF(zero);
    return r;
}

/* Read one observation's SCOs; 0 when done (o->unsupported may be set), -1 on error. */
static int read_observation(Obs *o, PyObject *obs, PyObject *cache) {
    o->obs = obs;
    o->cache = cache;
    PyObject *id = PyDict_Check(obs) ? PyDict_GetItem(obs, S_ID) : NULL;
    o->objects = PyDict_Check(obs) ? PyDict_GetItem(obs, S_OBJECTS) : NULL;
    if (o->objects == NULL || !PyDict_Check(o->objects) || id == NULL || !PyUnicode_Check(id)) {
        o->unsupported = 1; /* the Python path raises the FetchError */
        return 0;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0, junk = 0;
    while (PyDict_Next(o->objects, &pos, &key, &value)) {
        PyObject *type = PyDict_Check(value) ? PyDict_GetItem(value, S_TYPE) : NULL;
        if (type == NULL || !PyUnicode_Check(type)) { /* not an SCO: skipped, and counted */
            junk++;
            continue;
        }
        if (!PyUnicode_CheckExact(key) || !PyUnicode_CheckExact(type)) {
            o->unsupported = 1;
            return 0;
        }
        if (grow((void **)&o->scos, &o->cap_scos, o->n_scos + 1, sizeof(Sco)) < 0) return -1;
        Sco *sco = &o->scos[o->n_scos++];
        *sco = (Sco){key, value, type, ANONYMOUS, NULL, NULL, o->n_entries, 0, 0, 0};
        int r = flatten_here(o, sco);
        if (r < 0) return -1;
        if (r == 1) {
            if (decide_kind(o, sco) < 0) return -1;
        } else {
            drop_entries(o, sco->entries); /* what a partial flattening added */
            if (flatten_in_python(o, sco) < 0) return -1;
        }
        if (o->unsupported) return 0;
        sco->n_entries = o->n_entries - sco->entries;
    }
    if (junk > 0) {
        PyObject *noted = PyObject_CallFunction(NOTE, "sn", "observed-data.objects", junk);
        if (noted == NULL) return -1;
        Py_DECREF(noted);
    }
    return 0;
}

static PyObject *collect(PyObject *self, PyObject *args) {
    PyObject *observed, *cache;
    if (!PyArg_ParseTuple(args, "O!O", &PyList_Type, &observed, &cache)) return NULL;
    if (SHAPE_PARTS == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "configure() was not called");
        return NULL;
    }
    PyObject *types = PyDict_New();
    if (types == NULL) return NULL;
    Obs o = {0};
    int failed = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(observed) && !failed; i++) {
        if (read_observation(&o, PyList_GET_ITEM(observed, i), cache) < 0 ||
            (!o.unsupported && add_occurrences(&o, types, i) < 0))
            failed = !o.unsupported;
        obs_clear(&o);
        if (o.unsupported) break;
    }
    PyMem_Free(o.scos);
    PyMem_Free(o.entries);
    PyMem_Free(o.pairs);
    PyMem_Free(o.scratch.data);
    if (o.unsupported) {
        PyErr_Clear();
        Py_DECREF(types);
        Py_RETURN_NONE;
    }
    if (failed) {
        Py_DECREF(types);
        return NULL;
    }
    return types;
}

/* ------------------------------------------------------------------ Arrow buffers */

/* column(values, rows, count): the buffers of the Arrow array pyarrow.array(values) would
 * make, spread to ``count`` rows (values[i] at row rows[i], int32s; rows None: values are
 * the rows), nulls elsewhere.  Only for columns of one exact type, text, int (in int64),
 * float or bool, with None as null: there pyarrow's typing is plain.  Anything else (mixed
 * types, lists, a lone surrogate, an int beyond int64, no value at all) returns None and
 * collect types it with pyarrow, so the typing rule stays pyarrow's.
 *
 * Returns (kind, nulls, validity, *data): kind "s" (validity, int32 offsets, UTF-8 bytes),
 * "i" / "f" (validity, 8-byte values), "b" (validity, bits); validity None when no nulls. */
enum { K_NONE, K_STR, K_INT, K_FLOAT, K_BOOL };

static int kind_of(PyObject *v) {
    if (PyUnicode_CheckExact(v)) return K_STR;
    if (PyLong_CheckExact(v)) return K_INT;
    if (PyFloat_CheckExact(v)) return K_FLOAT;
    if (PyBool_Check(v)) return K_BOOL;
    return -1;
}

static PyObject *new_bytes(Py_ssize_t n, char **data) {
    PyObject *b = PyBytes_FromStringAndSize(NULL, n);
    if (b != NULL) {
        *data = PyBytes_AS_STRING(b);
        memset(*data, 0, (size_t)n);
    }
    return b;
}

static PyObject *column(PyObject *self, PyObject *args) {
    PyObject *values, *rows_arg;
    Py_ssize_t count;
    if (!PyArg_ParseTuple(args, "O!On", &PyList_Type, &values, &rows_arg, &count)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(values);
    int kind = K_NONE;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyList_GET_ITEM(values, i);
        if (v == Py_None) continue;
        int k = kind_of(v);
        if (k < 0 || (kind != K_NONE && k != kind)) Py_RETURN_NONE;
        kind = k;
    }
    if (kind == K_NONE) Py_RETURN_NONE; /* pyarrow's null type */
    /* picks[row]: the index of the value at row, or -1 (the last value given a row wins) */
    Py_ssize_t *picks = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(count ? count : 1));
    if (picks == NULL) return PyErr_NoMemory();
    if (rows_arg == Py_None) {
        if (n != count) {
            PyMem_Free(picks);
            PyErr_SetString(PyExc_ValueError, "without rows, values must fill the column");
            return NULL;
        }
        for (Py_ssize_t r = 0; r < count; r++) picks[r] = r;
    } else {
        Py_buffer rows;
        if (PyObject_GetBuffer(rows_arg, &rows, PyBUF_SIMPLE) < 0) {
            PyMem_Free(picks);
            return NULL;
        }
        if (rows.len != n * 4) {
            PyBuffer_Release(&rows);
            PyMem_Free(picks);
            PyErr_SetString(PyExc_ValueError, "one int32 row per value");
            return NULL;
        }
        for (Py_ssize_t r = 0; r < count; r++) picks[r] = -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            int32_t row;
            memcpy(&row, (const char *)rows.buf + 4 * i, 4);
            if (row < 0 || row >= count) {
                PyBuffer_Release(&rows);
                PyMem_Free(picks);
                PyErr_SetString(PyExc_ValueError, "a row is outside the column");
                return NULL;
            }
            picks[row] = i;
        }
        PyBuffer_Release(&rows);
    }
    Py_ssize_t nulls = 0;
    for (Py_ssize_t r = 0; r < count; r++)
        if (picks[r] < 0 || PyList_GET_ITEM(values, picks[r]) == Py_None) {
            picks[r] = -1;
            nulls++;
        }
    PyObject *result = NULL, *bitmap = NULL, *first = NULL, *second = NULL;
    char *bits = NULL, *data = NULL, *text = NULL;
    if (nulls) {
        if ((bitmap = new_bytes((count + 7) / 8, &bits)) == NULL) goto done;
        for (Py_ssize_t r = 0; r < count; r++)
            if (picks[r] >= 0) bits[r / 8] |= (char)(1 << (r % 8));
    }
    PyObject *validity = bitmap != NULL ? bitmap : Py_None; /* borrowed */
    if (kind == K_STR) {
        Py_ssize_t total = 0, size;
        for (Py_ssize_t r = 0; r < count; r++) {
            if (picks[r] < 0) continue;
            if (utf8_of(PyList_GET_ITEM(values, picks[r]), &size) == NULL) {
                PyErr_Clear(); /* a lone surrogate: valid_text's rule, in Python */
                goto unsupported;
            }
            total += size;
            if (total > INT32_MAX) goto unsupported;
        }
        if ((first = new_bytes((count + 1) * 4, &data)) == NULL ||
            (second = new_bytes(total, &text)) == NULL)
            goto done;
        int32_t offset = 0;
        for (Py_ssize_t r = 0; r < count; r++) {
            if (picks[r] >= 0) {
                const char *utf8 = utf8_of(PyList_GET_ITEM(values, picks[r]), &size);
                memcpy(text + offset, utf8, (size_t)size);
                offset += (int32_t)size;
            }
            memcpy(data + 4 * (r + 1), &offset, 4);
        }
        result = Py_BuildValue("(snOOO)", "s", nulls, validity, first, second);
    } else if (kind == K_BOOL) {
        if ((first = new_bytes((count + 7) / 8, &data)) == NULL) goto done;
        for (Py_ssize_t r = 0; r < count; r++)
            if (picks[r] >= 0 && PyList_GET_ITEM(values, picks[r]) == Py_True)
                data[r / 8] |= (char)(1 << (r % 8));
        result = Py_BuildValue("(snOO)", "b", nulls, validity, first);
    } else {
        if ((first = new_bytes(count * 8, &data)) == NULL) goto done;
        for (Py_ssize_t r = 0; r < count; r++) {
            if (picks[r] < 0) continue;
            PyObject *v = PyList_GET_ITEM(values, picks[r]);
            if (kind == K_FLOAT) {
                double d = PyFloat_AS_DOUBLE(v);
                memcpy(data + 8 * r, &d, 8);
            } else {
                int overflow;
                long long i = PyLong_AsLongLongAndOverflow(v, &overflow);
                if (overflow) goto unsupported; /* pyarrow refuses it: text, in Python */
                int64_t item = (int64_t)i;
                memcpy(data + 8 * r, &item, 8);
            }
        }
        result = Py_BuildValue("(snOO)", kind == K_FLOAT ? "f" : "i", nulls, validity, first);
    }
    goto done;
unsupported:
    result = Py_None;
    Py_INCREF(result);
done:
    Py_XDECREF(bitmap);
    Py_XDECREF(first);
    Py_XDECREF(second);
    PyMem_Free(picks);
    return result;
}

static int namespace_bytes(PyObject *value, unsigned char out[16]) {
    if (!PyBytes_Check(value) || PyBytes_GET_SIZE(value) != 16) {
        PyErr_SetString(PyExc_ValueError, "a namespace is 16 bytes");
        return -1;
    }
    memcpy(out, PyBytes_AS_STRING(value), 16);
    return 0;
}

static PyObject *configure(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"id_properties",  "self_contained", "preferred_hashes",
                            "observation_names", "skipped",    "id_namespace",
                            "occurrence_namespace", "shape_parts", "canonical_json",
                            "json_text",      "observation_digest", "unique_id_keys",
                            "integer_properties", "note", NULL};
    PyObject *id_ns, *occ_ns, *values[12];
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!O!O!SSOOOOO!O!O", names, &PyDict_Type,
                                     &values[0], &PyFrozenSet_Type, &values[1], &PyTuple_Type,
                                     &values[2], &PyFrozenSet_Type, &values[3],
                                     &PyFrozenSet_Type, &values[4], &id_ns, &occ_ns, &values[5],
                                     &values[6], &values[7], &values[8], &PyTuple_Type, &values[9],
                                     &PyDict_Type, &values[10], &values[11]))
        return NULL;
    if (namespace_bytes(id_ns, ID_NAMESPACE) < 0 || namespace_bytes(occ_ns, OCCURRENCE_NAMESPACE) < 0)
        return NULL;
    PyObject **slots[] = {&ID_PROPERTIES, &SELF_CONTAINED, &PREFERRED_HASHES, &OBS_NAMES,
                          &SKIPPED,       &SHAPE_PARTS,    &CANONICAL_JSON,   &JSON_TEXT,
                          &OBSERVATION_DIGEST, &UNIQUE_ID_KEYS, &INTEGER_PROPERTIES, &NOTE};
    for (int i = 0; i < 12; i++) Py_XSETREF(*slots[i], Py_NewRef(values[i]));
    Py_RETURN_NONE;
}

static PyMethodDef METHODS[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "Give the rules' tables and the Python helpers (huntline.fetch.stix.native calls it once)."},
    {"collect", collect, METH_VARARGS,
     "collect(observed, cache) -> {type: (names, columns, ids, observations, counts)} or None"},
    {"column", column, METH_VARARGS,
     "column(values, rows, count) -> (kind, nulls, validity, *data): Arrow buffers, or None"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_occurrences",
                                    "One page of observed-data -> occurrence columns, in C.", -1,
                                    METHODS};

PyMODINIT_FUNC PyInit__occurrences(void) {
    SHA1_MD = EVP_MD_fetch(NULL, "SHA1", NULL);
    SHA1_CTX = EVP_MD_CTX_new();
    if (SHA1_MD == NULL || SHA1_CTX == NULL) {
        PyErr_SetString(PyExc_ImportError, "libcrypto has no SHA-1 (EVP_MD_fetch failed)");
        return NULL;
    }
    for (int c = 0; c < 0x20; c++) ESCAPED[c] = 1;
    ESCAPED['"'] = ESCAPED['\\'] = ESCAPED['/'] = 1;
    struct {
        PyObject **slot;
        const char *text;
    } strings[] = {{&S_TYPE, "type"},
                   {&S_PID, "pid"},
                   {&S_HASHES, "hashes"},
                   {&S_X_UNIQUE_ID, "x_unique_id"},
                   {&S_PROCESS, "process"},
                   {&S_ASSET, "x-oca-asset"},
                   {&S_HOST_ID, "host_id"},
                   {&S_HOSTNAME, "hostname"},
                   {&S_NUMBER_OBSERVED, "number_observed"},
                   {&S_LAST_OBSERVED, "last_observed"},
                   {&S_FIRST_OBSERVED, "first_observed"},
                   {&S_OBJECTS, "objects"},
                   {&S_ID, "id"},
                   {&S_EXTENSIONS, "extensions"},
                   {&S_EXTENSIONS_DOT, "extensions."}};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if ((*strings[i].slot = PyUnicode_InternFromString(strings[i].text)) == NULL) return NULL;
    if ((NAME_KINDS = PyDict_New()) == NULL ||
        (ID_CACHE = PyDict_New()) == NULL)
        return NULL;
    return PyModule_Create(&MODULE);
}
