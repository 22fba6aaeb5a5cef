// libmosquitto, loaded at run time: the agent maps it (and OpenSSL with it, about 1.8 MB of
// resident memory) only when its output is MQTT, and runs without it otherwise.
#pragma once

#include <mosquitto.h>

#include "agent/core/status.h"

namespace vigil {

struct MosquittoApi {
  decltype(&mosquitto_lib_init) lib_init = nullptr;
  decltype(&mosquitto_new) create = nullptr;
  decltype(&mosquitto_destroy) destroy = nullptr;
  decltype(&mosquitto_int_option) int_option = nullptr;
  decltype(&mosquitto_connect_v5_callback_set) connect_callback_set = nullptr;
  decltype(&mosquitto_disconnect_v5_callback_set) disconnect_callback_set = nullptr;
  decltype(&mosquitto_publish_v5_callback_set) publish_callback_set = nullptr;
  decltype(&mosquitto_message_v5_callback_set) message_callback_set = nullptr;
  decltype(&mosquitto_log_callback_set) log_callback_set = nullptr;
  decltype(&mosquitto_username_pw_set) username_pw_set = nullptr;
  decltype(&mosquitto_tls_set) tls_set = nullptr;
  decltype(&mosquitto_tls_opts_set) tls_opts_set = nullptr;
  decltype(&mosquitto_will_set_v5) will_set = nullptr;
  decltype(&mosquitto_connect_bind_v5) connect = nullptr;
  decltype(&mosquitto_loop) loop = nullptr;
  decltype(&mosquitto_publish_v5) publish = nullptr;
  decltype(&mosquitto_subscribe_v5) subscribe = nullptr;
  decltype(&mosquitto_disconnect_v5) disconnect = nullptr;
  decltype(&mosquitto_strerror) strerror = nullptr;
  decltype(&mosquitto_reason_string) reason_string = nullptr;
};

// Loads libmosquitto.so.1 once (and calls its lib_init); later calls return the same. Unavailable,
// naming the library and what to install, when it cannot be loaded. Thread-safe.
Result<const MosquittoApi*> LoadMosquitto();

}  // namespace vigil
