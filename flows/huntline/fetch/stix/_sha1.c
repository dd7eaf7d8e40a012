/* SHA-1 (FIPS 180-4), one call per message: see _sha1.h. */
#include "_sha1.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_NI 1
#endif

typedef void (*Blocks)(uint32_t state[5], const unsigned char *data, size_t blocks);

#define ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

/* The 80 rounds as FIPS 180-4 writes them, over a rolling 16-word schedule. */
static void blocks_portable(uint32_t state[5], const unsigned char *p, size_t blocks) {
    for (; blocks > 0; blocks--, p += 64) {
        uint32_t w[16];
        for (int t = 0; t < 16; t++)
            w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
                   (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];
        for (int t = 0; t < 80; t++) {
            if (t >= 16) {
                uint32_t x = w[(t - 3) & 15] ^ w[(t - 8) & 15] ^ w[(t - 14) & 15] ^ w[t & 15];
                w[t & 15] = ROTL(x, 1);
            }
            uint32_t f, k;
            if (t < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999u;
            } else if (t < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1u;
            } else if (t < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDCu;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6u;
            }
            uint32_t temp = ROTL(a, 5) + f + e + k + w[t & 15];
            e = d;
            d = c;
            c = ROTL(b, 30);
            b = a;
            a = temp;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
    }
}

#ifdef HAVE_SHA_NI
/* Four rounds with the round function of group ``g`` (the instruction takes it as an
 * immediate, hence the switch). */
__attribute__((target("sha,ssse3,sse4.1"))) static inline __m128i rounds(__m128i abcd,
                                                                         __m128i e, int g) {
    switch (g / 5) {
    case 0: return _mm_sha1rnds4_epu32(abcd, e, 0);
    case 1: return _mm_sha1rnds4_epu32(abcd, e, 1);
    case 2: return _mm_sha1rnds4_epu32(abcd, e, 2);
    default: return _mm_sha1rnds4_epu32(abcd, e, 3);
    }
}

/* The same with SHA-NI: twenty groups of four rounds.  Group g's words are loaded (g < 4) or
 * scheduled from the four before (sha1msg1/xor/sha1msg2), and its E comes from the state
 * before the previous group (sha1nexte). */
__attribute__((target("sha,ssse3,sse4.1"))) static void blocks_sha_ni(uint32_t state[5],
                                                                       const unsigned char *p,
                                                                       size_t blocks) {
    const __m128i reverse = _mm_set_epi64x(0x0001020304050607ll, 0x08090a0b0c0d0e0fll);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)state), 0x1B);
    __m128i e = _mm_set_epi32((int)state[4], 0, 0, 0);
    for (; blocks > 0; blocks--, p += 64) {
        const __m128i abcd_saved = abcd, e_saved = e;
        __m128i m[4], before = abcd, next;
        for (int g = 0; g < 20; g++) {
            __m128i *w = &m[g & 3];
            if (g < 4) {
                *w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), reverse);
            } else {
                __m128i x = _mm_sha1msg1_epu32(*w, m[(g + 1) & 3]);
                *w = _mm_sha1msg2_epu32(_mm_xor_si128(x, m[(g + 2) & 3]), m[(g + 3) & 3]);
            }
            next = g == 0 ? _mm_add_epi32(e, *w) : _mm_sha1nexte_epu32(before, *w);
            before = abcd;
            abcd = rounds(abcd, next, g);
        }
        e = _mm_sha1nexte_epu32(before, e_saved);
        abcd = _mm_add_epi32(abcd, abcd_saved);
    }
    _mm_storeu_si128((__m128i *)state, _mm_shuffle_epi32(abcd, 0x1B));
    state[4] = (uint32_t)_mm_extract_epi32(e, 3);
}
#endif

int huntline_sha1_accelerated(void) {
#ifdef HAVE_SHA_NI
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    int ssse3 = (ecx >> 9) & 1, sse41 = (ecx >> 19) & 1;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return ssse3 && sse41 && ((ebx >> 29) & 1);
#else
    return 0;
#endif
}

void huntline_sha1(const void *data, size_t n, unsigned char out[20], int portable) {
    static Blocks accelerated = NULL;
    static int checked = 0;
    if (!checked) {
#ifdef HAVE_SHA_NI
        accelerated = huntline_sha1_accelerated() ? blocks_sha_ni : NULL;
#endif
        checked = 1;
    }
    Blocks blocks = portable || accelerated == NULL ? blocks_portable : accelerated;
    uint32_t state[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    const unsigned char *p = data;
    size_t whole = n / 64;
    blocks(state, p, whole);
    unsigned char tail[128] = {0};
    size_t rest = n - whole * 64;
    memcpy(tail, p + whole * 64, rest);
    tail[rest] = 0x80;
    size_t padded = rest + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) tail[padded - 1 - i] = (unsigned char)(bits >> (8 * i));
    blocks(state, tail, padded / 64);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(state[i] >> 24);
        out[4 * i + 1] = (unsigned char)(state[i] >> 16);
        out[4 * i + 2] = (unsigned char)(state[i] >> 8);
        out[4 * i + 3] = (unsigned char)state[i];
    }
}
