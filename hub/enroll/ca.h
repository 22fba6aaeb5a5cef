// The hub's certificate authority: the root of trust between the broker, the hub and every
// device (OpenSSL 3, EC P-256 keys, SHA-256 signatures).
//
// The CA directory (created with mode 0700 on first use) holds:
//
//   ca.crt     the CA certificate (PEM): CN "Vigil hub CA", basicConstraints CA:TRUE (critical),
//              keyUsage keyCertSign + cRLSign (critical), valid 10 years
//   ca.key     its private key (PEM, PKCS#8, unencrypted), mode 0600; a ca.key that group or
//              others may read is refused at load
//   index      every certificate issued, one per line (format below)
//   crlnumber  the counter of CRLs signed (decimal): each CRL carries the next number
//   crl.pem    the latest certificate revocation list (PEM), rewritten by WriteCrl (at creation
//              and on every Revoke)
//
// index format (text, UTF-8, one certificate per line, fields separated by one space):
//
//   # vigil hub CA index v1: kind id serial not_after revoked_at
//   device sensor-17 5F3A...C1 2080000000 0
//   device sensor-17 1B07...9E 2080003600 1763900000
//   server vigil-broker 7C44...02 2080000000 0
//   hub vigil-hub 2D90...11 2080000000 0
//
//   kind        device | server | hub
//   id          the certificate's subject CN (a device id, "vigil-broker" or "vigil-hub")
//   serial      the serial number in upper-case hexadecimal, as OpenSSL prints it
//   not_after   end of validity, Unix seconds (UTC)
//   revoked_at  when it was revoked, Unix seconds; 0 while it is not
//
// Serial numbers are 16 random bytes (positive, never reused in practice); they are not taken
// from a counter. Every file is replaced atomically (written to a temporary file, fsynced and
// renamed), so a crash leaves either the old or the new version.
//
// Device ids follow the agent's rule for agent.device_id: 1 to 64 characters of A-Z a-z 0-9
// . _ -. The names the hub uses for itself (kHubClientName "vigil-hub", kBrokerServerName
// "vigil-broker"), in any letter case, are reserved: a device with such an id would be given
// the hub's user name at the broker.
//
// Re-enrolling an id issues a new certificate and key; the earlier certificates of that id stay
// valid until they expire or Revoke(id) revokes them all (then enroll again for a fresh one).
//
// Threads and processes: a Ca is not thread-safe; one thread at a time. Two processes must not
// use the same directory at the same time (the index is read at open and rewritten whole: the
// later writer would drop the other's entries). The vigil-hub CLI and the hub service should
// not issue or revoke concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil::hub {

inline constexpr std::string_view kHubClientName = "vigil-hub";        // the hub's MQTT user name
inline constexpr std::string_view kBrokerServerName = "vigil-broker";  // CN of the broker's certificate
inline constexpr int kCaValidDays = 3650;
inline constexpr int kDefaultDeviceValidDays = 1825;
inline constexpr int kDefaultServerValidDays = 825;
inline constexpr int kDefaultCrlValidDays = 30;

// OK when `id` is a valid device id that is not reserved; otherwise InvalidArgument naming the
// id and the rule it breaks.
Status ValidateDeviceId(std::string_view id);

// A certificate and its new private key, both PEM.
struct IssuedCert {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted: write it with mode 0600
  std::string serial;   // upper-case hex, as in the index
  int64_t not_after = 0;
};

struct IndexEntry {
  enum class Kind { kDevice, kServer, kHub };
  Kind kind = Kind::kDevice;
  std::string id;
  std::string serial;
  int64_t not_after = 0;
  int64_t revoked_at = 0;  // 0: not revoked
  bool revoked() const { return revoked_at != 0; }
};

class Ca {
 public:
  // Loads the CA from `dir`, or creates it there when `dir` has no ca.crt (the directory, mode
  // 0700, with missing parents; the key, the certificate, an empty index and a first CRL).
  // Errors name the file and what failed, with OpenSSL's reason: NotFound (ca.crt without
  // ca.key), PermissionDenied (ca.key readable by others), Corruption (a file that does not
  // parse, a key that does not match the certificate, a bad index line), IoError.
  static Result<std::unique_ptr<Ca>> OpenOrCreate(const std::string& dir);
  ~Ca();
  Ca(const Ca&) = delete;
  Ca& operator=(const Ca&) = delete;

  // A client certificate for a device: CN = device_id, keyUsage digitalSignature (critical),
  // extendedKeyUsage clientAuth, basicConstraints CA:FALSE, valid from 5 minutes ago for
  // `valid_days` (1 to kCaValidDays; never past the CA's own end). Recorded in the index
  // before it is returned. InvalidArgument for a bad or reserved id (named) or days.
  Result<IssuedCert> IssueDevice(std::string_view device_id, int valid_days = kDefaultDeviceValidDays);
  // The broker's TLS server certificate: CN kBrokerServerName, extendedKeyUsage serverAuth,
  // keyUsage digitalSignature, subjectAltName with an IP: entry for each element that is an
  // IPv4 or IPv6 address and a DNS: entry for each other (letters, digits, '-', '.', and a
  // leading "*." only). At least one name.
  Result<IssuedCert> IssueServer(const std::vector<std::string>& hostnames_and_ips,
                                 int valid_days = kDefaultServerValidDays);
  // The hub's own MQTT client certificate: CN kHubClientName, extendedKeyUsage clientAuth.
  Result<IssuedCert> IssueHubClient(int valid_days = kDefaultDeviceValidDays);

  // Revokes every certificate issued to `device_id` that is not revoked yet, saves the index
  // and writes a new crl.pem (WriteCrl). Returns how many were revoked now. NotFound when the
  // id was never enrolled; InvalidArgument for a bad or reserved id. Revoking an id whose
  // certificates are all revoked already returns 0 (and still rewrites the CRL).
  Result<int> Revoke(std::string_view device_id);

  // Signs a CRL (version 2, lastUpdate now, nextUpdate now + valid_days, a crlNumber from the
  // crlnumber counter, authorityKeyIdentifier) listing every revoked certificate of the index,
  // writes it to <dir>/crl.pem (mode 0644) and returns its PEM. A broker checking CRLs refuses
  // every client once its CRL's nextUpdate has passed: write a new one well before that.
  Result<std::string> WriteCrl(int valid_days = kDefaultCrlValidDays);

  // The index, in issue order.
  const std::vector<IndexEntry>& Issued() const { return index_; }

  const std::string& dir() const { return dir_; }
  std::string cert_file() const { return dir_ + "/ca.crt"; }
  std::string key_file() const { return dir_ + "/ca.key"; }
  std::string crl_file() const { return dir_ + "/crl.pem"; }
  const std::string& cert_pem() const { return cert_pem_; }

 private:
  struct Keys;
  explicit Ca(std::string dir);
  Status Create();
  Status Load();
  Status LoadIndex();
  Status SaveIndex() const;
  Result<IssuedCert> Issue(IndexEntry::Kind kind, const std::string& common_name, const std::string& key_usage,
                           const std::string& ext_key_usage, const std::string& subject_alt_name, int valid_days);

  std::string dir_;
  std::unique_ptr<Keys> keys_;  // the CA's X509 and EVP_PKEY
  std::string cert_pem_;
  std::vector<IndexEntry> index_;
};

}  // namespace vigil::hub
