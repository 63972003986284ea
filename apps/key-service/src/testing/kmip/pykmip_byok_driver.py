"""Drive the KMS's KMIP Register (BYOK), Get and rename with Debian's PyKMIP client.

Usage: /usr/bin/python3 pykmip_byok_driver.py HOST PORT CERT KEY CA STEP [ARG]
Steps:
  register          wrap a fresh AES-256 key for a wrapping key from Get "kms-import-wrapping-key",
                    Register it, encrypt with it over KMIP; prints the material (the test decrypts
                    the KMIP ciphertext with it, offline)
  register-clear    Register an AES-256 key in clear (no Key Wrapping Data)
  rename UID NEW OLD  ModifyAttribute of Name, then Locate by the new and the old name
  get UID           Get the key's material (exportable keys) or the refusal
Prints one JSON object: what the step returned, or the KMIP failure it got.
"""
import json
import os
import sys

from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
from kmip import enums
from kmip.core.exceptions import OperationFailure
from kmip.pie import objects
from kmip.pie.client import ProxyKmipClient
from kmip.pie.exceptions import KmipOperationFailure


def wrap_for_import(spki_der, material):
    """RSA-OAEP-SHA256 of a one-time AES-256 key, then AES-KWP (RFC 5649) of the material under it."""
    public_key = serialization.load_der_public_key(spki_der, backend=default_backend())
    ephemeral = os.urandom(32)
    head = public_key.encrypt(ephemeral, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    return head + aes_key_wrap_with_padding(ephemeral, material, backend=default_backend())


def failure(e):
    return {"failed": e.reason.name, "message": str(getattr(e, "message", e))}


def main():
    host, port, cert, key, ca, step = sys.argv[1:7]
    args = sys.argv[7:]
    out = {}
    client = ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca,
                             ssl_version="PROTOCOL_SSLv23", config_file="/dev/null")
    with client:
        if step == "register":
            wrapping = client.proxy.get("kms-import-wrapping-key")
            if wrapping.result_status.value != enums.ResultStatus.SUCCESS:
                raise SystemExit("Get kms-import-wrapping-key failed: %s" % wrapping.result_message)
            wrapping_uid = wrapping.uuid
            spki = wrapping.secret.key_block.key_value.key_material.value
            out["wrapping_key_uid"] = wrapping_uid
            material = os.urandom(32)
            wrapped = wrap_for_import(spki, material)
            symmetric = objects.SymmetricKey(
                enums.CryptographicAlgorithm.AES, 256, wrapped, name="pykmip-byok",
                key_wrapping_data={
                    "wrapping_method": enums.WrappingMethod.ENCRYPT,
                    "encryption_key_information": {
                        "unique_identifier": wrapping_uid,
                        "cryptographic_parameters": {
                            "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
                            "padding_method": enums.PaddingMethod.OAEP,
                            "hashing_algorithm": enums.HashingAlgorithm.SHA_256,
                        },
                    },
                    "encoding_option": enums.EncodingOption.NO_ENCODING,
                })
            uid = client.register(symmetric)
            out["register"] = uid
            out["material_hex"] = material.hex()
            params = {"cryptographic_algorithm": enums.CryptographicAlgorithm.AES,
                      "block_cipher_mode": enums.BlockCipherMode.GCM}
            ciphertext, iv = client.encrypt(b"brought my own key", uid=uid, cryptographic_parameters=params)
            out["encrypt"] = {"ciphertext_hex": ciphertext.hex(), "iv_hex": iv.hex()}
            # The wrapping key is single use: a second Register with it is refused.
            try:
                again = objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 256, wrap_for_import(spki, os.urandom(32)),
                                             name="pykmip-byok-again",
                                             key_wrapping_data={"wrapping_method": enums.WrappingMethod.ENCRYPT,
                                                                "encryption_key_information": {"unique_identifier": wrapping_uid}})
                client.register(again)
                out["register_reused_token"] = "registered"
            except KmipOperationFailure as e:
                out["register_reused_token"] = failure(e)
        elif step == "register-clear":
            try:
                out["register"] = client.register(objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 256, os.urandom(32), name="pykmip-clear"))
            except KmipOperationFailure as e:
                out["register"] = failure(e)
        elif step == "rename":
            uid, name, old = args
            attribute = client.attribute_factory.create_attribute(enums.AttributeType.NAME, name)
            try:
                modified_uid, _attribute = client.modify_attribute(unique_identifier=uid, attribute=attribute)
                out["modify_attribute"] = modified_uid
            except (KmipOperationFailure, OperationFailure) as e:
                out["modify_attribute"] = failure(e)
            out["locate_new"] = client.locate(attributes=[client.attribute_factory.create_attribute(enums.AttributeType.NAME, name)])
            out["locate_old"] = client.locate(attributes=[client.attribute_factory.create_attribute(enums.AttributeType.NAME, old)])
            attrs = client.get_attributes(uid, ["Name"])
            out["name"] = [str(a.attribute_value.name_value) for a in attrs[1]]
        elif step == "get":
            uid = args[0]
            try:
                got = client.get(uid)
                out["get"] = {"material_hex": got.value.hex(), "algorithm": got.cryptographic_algorithm.name, "length": got.cryptographic_length}
            except KmipOperationFailure as e:
                out["get"] = failure(e)
        else:
            raise SystemExit("unknown step %s" % step)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
