/* pki.h: the X.509 pieces of sluice's trust model, shared by controller and agent: keys, the CA, certificates. */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Trust model (issue 4). The controller is the CA: a self-signed EC P-256 certificate, pathlen 0,
 * that signs the controller's TLS server certificate and one short-lived client certificate per
 * node. A node certificate carries the node's identity, and nothing else may:
 *
 *   subject      CN=<node name>, OU=<zone>                  (exactly these two attributes, once each)
 *   SAN          URI:urn:sluice:node:<node id>,
 *                URI:urn:sluice:zone:<zone>                 (exactly these two entries)
 *   extensions   basicConstraints critical CA:FALSE, keyUsage critical digitalSignature,
 *                extKeyUsage clientAuth, subject/authority key ids
 *
 * The zone is written twice on purpose: pki_cert_identity() accepts a certificate only when the OU
 * and the zone URI are both present once and agree, and the zone is "private" or "public". A
 * certificate with two zones, an unknown zone, a missing node id or any other SAN entry is refused,
 * so no encoding trick can make one certificate read as two zones. The node's CSR contributes only
 * its public key and its CN (which must equal the name the join token is bound to); everything
 * else in it, requested extensions included, is ignored. Zone and node id come from the controller.
 *
 * Errors: every function returns 0 or a negative errno and writes one line, starting "pki: ", into
 * err (when err is not NULL and errsz > 0), with OpenSSL's reason where OpenSSL failed:
 *   -EINVAL        bad argument (name, zone, node id, SAN, lifetime)
 *   -EBADMSG       malformed PEM/DER, or a certificate that does not carry a well-formed identity
 *   -EFBIG         PEM/DER/key file larger than PKI_PEM_MAX
 *   -EPERM         key file accessible by group/others; CSR naming another node than expected
 *   -EOPNOTSUPP    a key type other than EC P-256 or Ed25519
 *   -EKEYREJECTED  bad signature, untrusted issuer, wrong purpose
 *   -EKEYEXPIRED   certificate (or CA) expired or not yet valid
 *   -EKEYREVOKED   certificate serial reported revoked
 *   -ENOMEM, -EIO  allocation or other OpenSSL failure; errno of file operations
 * ret_ parameters are written only on success; the caller owns what they return.
 */

#define PKI_PEM_MAX ((size_t) 64 * 1024)           /* largest PEM/DER/key file accepted */
#define PKI_NODE_CERT_LIFETIME_MAX_SEC (24 * 3600) /* node certificates live at most 24 h */
#define PKI_NODE_CERT_LIFETIME_MIN_SEC 60
#define PKI_CLOCK_SKEW_SEC 60 /* notBefore is backdated by this much */
#define PKI_CA_YEARS_MAX 100
#define PKI_SERVER_CERT_DAYS_MAX 3650
#define PKI_SERVER_SANS_MAX 64

#define PKI_NODE_NAME_MAX 64 /* including the NUL */
#define PKI_ZONE_MAX 16
#define PKI_NODE_ID_SIZE 37         /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */
#define PKI_SERIAL_HEX_MAX 41       /* RFC 5280: at most 20 octets */
#define PKI_FINGERPRINT_HEX_SIZE 65 /* SHA-256, lower-case hex, no separators */

#define PKI_ZONE_PRIVATE "private"
#define PKI_ZONE_PUBLIC "public"
#define PKI_URN_NODE_PREFIX "urn:sluice:node:"
#define PKI_URN_ZONE_PREFIX "urn:sluice:zone:"

typedef struct PkiIdentity {
        char name[PKI_NODE_NAME_MAX];   /* node name, the CN: [A-Za-z0-9][A-Za-z0-9._-]{0,62} */
        char zone[PKI_ZONE_MAX];        /* "private" or "public" */
        char node_id[PKI_NODE_ID_SIZE]; /* lower-case 8-4-4-4-12 hex, as pki_node_id_generate() makes */
} PkiIdentity;

typedef enum PkiPurpose {
        PKI_PURPOSE_NODE,   /* a node's client certificate (extKeyUsage clientAuth) */
        PKI_PURPOSE_SERVER, /* the controller's server certificate (extKeyUsage serverAuth) */
} PkiPurpose;

/* Revocation check for pki_verify_cert(): gets the certificate's serial as pki_cert_serial_hex()
 * writes it. Returns > 0 when revoked, 0 when not, a negative errno when it cannot tell (the
 * verification then fails closed with that error). */
typedef int (*PkiRevokedFunc)(const char *serial_hex, void *userdata);

/* Validation of identity fields. Node names: 1..63 of [A-Za-z0-9._-], starting alphanumeric. Zones:
 * "private" or "public". Node ids: lower-case UUID text. pki_identity_check() checks all three and
 * names the bad field in err (-EINVAL). */
bool pki_node_name_valid(const char *name);
bool pki_zone_valid(const char *zone);
bool pki_node_id_valid(const char *node_id);
int pki_identity_check(const PkiIdentity *id, char *err, size_t errsz);
/* Writes a random (version 4) UUID in lower case into ret. Returns 0 or a negative errno. */
int pki_node_id_generate(char ret[static PKI_NODE_ID_SIZE]);

/* Keys. pki_key_generate() makes a new EC P-256 key. pki_key_check() accepts EC P-256 and Ed25519
 * keys only (-EOPNOTSUPP naming the type otherwise); what names the key in the message ("CSR key").
 * pki_key_save() writes the private key as unencrypted PKCS#8 PEM, mode 0600, atomically.
 * pki_key_load() refuses a file that is not regular, is larger than PKI_PEM_MAX, or has any group
 * or other permission bit (-EPERM: "chmod 600 it"), an encrypted or malformed key (-EBADMSG) and
 * other key types; the caller owns *ret (EVP_PKEY_free). pki_key_to_pem()/pki_key_from_pem() do the
 * same in memory; the PEM buffer holds a secret: explicit_bzero() it before free(). */
int pki_key_generate(EVP_PKEY **ret, char *err, size_t errsz);
int pki_key_check(EVP_PKEY *key, const char *what, char *err, size_t errsz);
int pki_key_save(const char *path, EVP_PKEY *key, char *err, size_t errsz);
int pki_key_load(const char *path, EVP_PKEY **ret, char *err, size_t errsz);
int pki_key_to_pem(EVP_PKEY *key, char **ret, size_t *ret_size, char *err, size_t errsz);
int pki_key_from_pem(const char *pem, size_t size, EVP_PKEY **ret, char *err, size_t errsz);

/* PEM and DER encoding of certificates and CSRs. Decoders take exactly size bytes (no NUL needed),
 * refuse more than PKI_PEM_MAX with -EFBIG, and accept exactly one object: trailing data other
 * than whitespace (after PEM) or anything at all (after DER) is -EBADMSG. Encoders return a new
 * NUL-terminated buffer (free() it) and its length without the NUL. pki_cert_save() writes a
 * certificate PEM atomically with mode 0644; pki_cert_load() reads one back. */
int pki_cert_from_pem(const void *pem, size_t size, X509 **ret, char *err, size_t errsz);
int pki_cert_from_der(const void *der, size_t size, X509 **ret, char *err, size_t errsz);
int pki_cert_to_pem(X509 *cert, char **ret, size_t *ret_size, char *err, size_t errsz);
int pki_csr_from_pem(const void *pem, size_t size, X509_REQ **ret, char *err, size_t errsz);
int pki_csr_from_der(const void *der, size_t size, X509_REQ **ret, char *err, size_t errsz);
int pki_csr_to_pem(X509_REQ *req, char **ret, size_t *ret_size, char *err, size_t errsz);
int pki_cert_save(const char *path, X509 *cert, char *err, size_t errsz);
int pki_cert_load(const char *path, X509 **ret, char *err, size_t errsz);

/* Creates the self-signed CA certificate for key (EC P-256 or Ed25519): subject CN=cn (NULL: "sluice
 * CA <16 random hex digits>"), valid from now (less PKI_CLOCK_SKEW_SEC) for years (1..100),
 * basicConstraints critical CA:TRUE pathlen 0, keyUsage critical keyCertSign+cRLSign, subject key
 * id, random 128-bit serial. The caller owns *ret. */
int pki_ca_create(EVP_PKEY *key, const char *cn, unsigned years, X509 **ret, char *err, size_t errsz);

/* Issues the controller's TLS server certificate for pubkey, signed by ca/ca_key: CN=cn (NULL: the
 * first SAN), SANs from sans[0..n_sans) (1..PKI_SERVER_SANS_MAX; each an IPv4/IPv6 address or a DNS
 * name of letter/digit/hyphen labels; wildcards refused), valid for days (1..3650, clamped to the
 * CA's notAfter), extKeyUsage serverAuth, CA:FALSE. The caller owns *ret. */
int pki_server_cert_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pubkey, const char *cn, const char *const *sans,
                          size_t n_sans, unsigned days, X509 **ret, char *err, size_t errsz);

/* Agent side: a CSR with subject CN=node_name (valid per pki_node_name_valid), signed by key (EC
 * P-256 or Ed25519). The caller owns *ret. */
int pki_csr_create(EVP_PKEY *key, const char *node_name, X509_REQ **ret, char *err, size_t errsz);

/* Controller side, before signing: verifies the CSR's self-signature (-EKEYREJECTED), its key type
 * (-EOPNOTSUPP) and that its subject has exactly one CN equal to expected_name (-EPERM: "CSR names
 * node "b", token is for "a""; -EBADMSG when no usable CN). */
int pki_csr_check(X509_REQ *req, const char *expected_name, char *err, size_t errsz);

/* Controller side: checks req with pki_csr_check(req, id->name) and id with pki_identity_check(),
 * then issues the node certificate described at the top of this file, signed by ca/ca_key, with a
 * random 128-bit serial. Validity: notBefore = now - PKI_CLOCK_SKEW_SEC, notAfter = notBefore +
 * lifetime_sec; lifetime_sec below PKI_NODE_CERT_LIFETIME_MIN_SEC is -EINVAL, above
 * PKI_NODE_CERT_LIFETIME_MAX_SEC is clamped to it, and notAfter never passes the CA's (an expired
 * CA is -EKEYEXPIRED). now is the issuing time, 0 for the current time (tests pass another to make
 * expired or future certificates). The caller owns *ret. */
int pki_node_cert_issue(X509 *ca, EVP_PKEY *ca_key, X509_REQ *req, const PkiIdentity *id, int64_t lifetime_sec,
                        time_t now, X509 **ret, char *err, size_t errsz);

/* Reads a node's identity from its certificate, strictly (see the top of this file): exactly one CN
 * (a valid node name), one OU and one zone URI that agree and name a known zone, one node-id URI,
 * no other subject attribute or SAN entry, not a CA. Does not verify the certificate: call
 * pki_verify_cert() first. Returns -EBADMSG naming the problem. */
int pki_cert_identity(X509 *cert, PkiIdentity *ret, char *err, size_t errsz);

/* Verifies cert against the single trust anchor ca: signature chain, X.509 strict checks,
 * validity at now (0: the current time; -EKEYEXPIRED says "expired at" or "not valid before" with the
 * time, and whether it is the CA), purpose (-EKEYREJECTED), then revocation when revoked is not NULL
 * (-EKEYREVOKED naming the serial, or the callback's error: fail closed). */
int pki_verify_cert(X509 *ca, X509 *cert, PkiPurpose purpose, time_t now, PkiRevokedFunc revoked, void *userdata,
                    char *err, size_t errsz);

/* Certificate facts. pki_cert_serial_hex(): lower-case hex of the serial, even length, no leading
 * zero bytes (-EBADMSG for a negative or over-20-octet serial). pki_cert_fingerprint(): SHA-256 of
 * the DER encoding, lower-case hex. pki_cert_validity(): notBefore/notAfter as Unix times (either
 * pointer may be NULL). */
int pki_cert_serial_hex(X509 *cert, char ret[static PKI_SERIAL_HEX_MAX]);
int pki_cert_fingerprint(X509 *cert, char ret[static PKI_FINGERPRINT_HEX_SIZE]);
int pki_cert_validity(X509 *cert, int64_t *ret_not_before, int64_t *ret_not_after);
