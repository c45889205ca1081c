// tls.cpp: a session over TLS with mutual authentication: both sides show a
// certificate signed by one CA, and the server refuses clients without one.
//
//   guide_tls ca.pem server.pem server.key client.pem client.key
//
// The server's certificate must name "localhost"; the guide shows openssl
// commands that make a test CA and these files.
#include <iostream>
#include <thread>

#include "libchan/libchan.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: " << argv[0] << " ca.pem server.pem server.key client.pem client.key\n";
    return 2;
  }
  libchan::SessionOptions server_options;
  server_options.tls.certificate_file = argv[2];
  server_options.tls.private_key_file = argv[3];
  server_options.tls.ca_file = argv[1];  // clients need a certificate this CA signed
  server_options.tls.require_client_certificate = true;

  libchan::SessionOptions client_options;
  client_options.tls.certificate_file = argv[4];
  client_options.tls.private_key_file = argv[5];
  client_options.tls.ca_file = argv[1];          // trust this CA only, not the system's
  client_options.tls.server_name = "localhost";  // the name the server's certificate must have

  libchan::Listener listener = libchan::listen("tls://127.0.0.1:0", server_options);
  std::thread server([&listener] {
    libchan::Session session = listener.accept();
    if (!session) return;  // the listener was closed
    std::cout << "server: the client is " << session.peer_identity() << '\n';
    libchan::Receiver<std::string> greetings = session.accept_receiver<std::string>();
    while (std::optional<std::string> text = greetings.receive())
      std::cout << "server: got \"" << *text << "\"\n";
  });
  try {
    libchan::Session session = libchan::dial(listener.local_address(), client_options);
    libchan::Sender<std::string> greetings = session.open_sender<std::string>();
    greetings.send("hello over TLS");
    greetings.close();
    server.join();
    std::cout << "client: the server is " << session.peer_identity() << '\n';
  } catch (const std::system_error& e) {
    std::cerr << e.what() << '\n';  // errc::auth_failed, and why
    listener.close();
    server.join();
    return 1;
  }
}
