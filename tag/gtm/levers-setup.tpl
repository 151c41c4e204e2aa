___TERMS_OF_SERVICE___

By creating or modifying this file you agree to Google Tag Manager's Community
Template Gallery Developer Terms of Service available at
https://developers.google.com/tag-manager/gallery-tos (or such other URL as
Google may provide), as modified from time to time.


___INFO___

{
  "type": "TAG",
  "id": "cvt_temp_public_id",
  "version": 1,
  "securityGroups": [],
  "displayName": "Levers setup",
  "categories": [
    "PERSONALIZATION",
    "EXPERIMENTATION"
  ],
  "brand": {
    "id": "levers",
    "displayName": "Levers"
  },
  "description": "Loads the Levers tag for one site: queues calls made before it loads, passes the consent mode and decision timeout, and can forward Google consent mode (analytics_storage; off by default: GTM counts an unset consent type as granted). Fire on Initialization - All Pages.",
  "containerContexts": [
    "WEB"
  ]
}


___TEMPLATE_PARAMETERS___

[
  {
    "type": "SELECT",
    "name": "consent",
    "displayName": "Consent mode",
    "macrosInSelect": false,
    "selectItems": [
      {
        "value": "granted",
        "displayValue": "granted: no consent needed on this site"
      },
      {
        "value": "required",
        "displayValue": "required: nothing stored or sent before analytics_storage is granted"
      },
      {
        "value": "cookieless",
        "displayValue": "cookieless: nothing stored, every page view is a new visitor"
      }
    ],
    "simpleValueType": true,
    "defaultValue": "required"
  },
  {
    "type": "TEXT",
    "name": "timeout",
    "displayName": "Decision timeout (ms)",
    "simpleValueType": true,
    "defaultValue": "1000",
    "valueValidators": [
      {
        "type": "POSITIVE_NUMBER"
      }
    ]
  },
  {
    "type": "CHECKBOX",
    "name": "forwardConsent",
    "checkboxText": "Forward Google consent mode (analytics_storage) to Levers",
    "simpleValueType": true,
    "defaultValue": false,
    "help": "Only for sites that set a Google consent mode default (analytics_storage denied) before this tag fires. Google Tag Manager counts a consent type that was never set as granted, so on a site that doesn't use consent mode, forwarding turns Levers on at once, before any visitor consents. Left off, Levers still follows the gtag('consent', ...) commands in the data layer itself, and levers('consent', true).",
    "enablingConditions": [
      {
        "paramName": "consent",
        "paramValue": "required",
        "type": "EQUALS"
      }
    ]
  }
]


___SANDBOXED_JS_FOR_WEB_TEMPLATE___

// the tag's url is pinned here and in the inject_script permission: download this file from your site's page
const TAG_URL = 'https://levers.example.com/t/site_EXAMPLE.js';
const addConsentListener = require('addConsentListener');
const callInWindow = require('callInWindow');
const createArgumentsQueue = require('createArgumentsQueue');
const injectScript = require('injectScript');
const isConsentGranted = require('isConsentGranted');
const makeNumber = require('makeNumber');
const setInWindow = require('setInWindow');

// calls made before the tag arrives wait in levers.q, exactly like the custom html snippet's queue
createArgumentsQueue('levers', 'levers.q');
setInWindow('leversConfig', {consent: data.consent, timeout: makeNumber(data.timeout) || 1000}, false);
if (data.forwardConsent && data.consent === 'required') {
  // callInWindow reaches whatever window.levers is by then: the queue, or the tag once it has loaded
  if (isConsentGranted('analytics_storage')) callInWindow('levers', 'consent', true);
  addConsentListener('analytics_storage', (consentType, granted) => callInWindow('levers', 'consent', granted));
}
injectScript(TAG_URL, data.gtmOnSuccess, data.gtmOnFailure, 'levers');


___WEB_PERMISSIONS___

[
  {
    "instance": {
      "key": {
        "publicId": "access_globals",
        "versionId": "1"
      },
      "param": [
        {
          "key": "keys",
          "value": {
            "type": 2,
            "listItem": [
              {
                "type": 3,
                "mapKey": [
                  {
                    "type": 1,
                    "string": "key"
                  },
                  {
                    "type": 1,
                    "string": "read"
                  },
                  {
                    "type": 1,
                    "string": "write"
                  },
                  {
                    "type": 1,
                    "string": "execute"
                  }
                ],
                "mapValue": [
                  {
                    "type": 1,
                    "string": "levers"
                  },
                  {
                    "type": 8,
                    "boolean": true
                  },
                  {
                    "type": 8,
                    "boolean": true
                  },
                  {
                    "type": 8,
                    "boolean": true
                  }
                ]
              },
              {
                "type": 3,
                "mapKey": [
                  {
                    "type": 1,
                    "string": "key"
                  },
                  {
                    "type": 1,
                    "string": "read"
                  },
                  {
                    "type": 1,
                    "string": "write"
                  },
                  {
                    "type": 1,
                    "string": "execute"
                  }
                ],
                "mapValue": [
                  {
                    "type": 1,
                    "string": "levers.q"
                  },
                  {
                    "type": 8,
                    "boolean": true
                  },
                  {
                    "type": 8,
                    "boolean": true
                  },
                  {
                    "type": 8,
                    "boolean": false
                  }
                ]
              },
              {
                "type": 3,
                "mapKey": [
                  {
                    "type": 1,
                    "string": "key"
                  },
                  {
                    "type": 1,
                    "string": "read"
                  },
                  {
                    "type": 1,
                    "string": "write"
                  },
                  {
                    "type": 1,
                    "string": "execute"
                  }
                ],
                "mapValue": [
                  {
                    "type": 1,
                    "string": "leversConfig"
                  },
                  {
                    "type": 8,
                    "boolean": true
                  },
                  {
                    "type": 8,
                    "boolean": true
                  },
                  {
                    "type": 8,
                    "boolean": false
                  }
                ]
              }
            ]
          }
        }
      ]
    },
    "clientAnnotations": {
      "isEditedByUser": true
    },
    "isRequired": true
  },
  {
    "instance": {
      "key": {
        "publicId": "inject_script",
        "versionId": "1"
      },
      "param": [
        {
          "key": "urls",
          "value": {
            "type": 2,
            "listItem": [
              {
                "type": 1,
                "string": "https://levers.example.com/t/site_EXAMPLE.js"
              }
            ]
          }
        }
      ]
    },
    "clientAnnotations": {
      "isEditedByUser": true
    },
    "isRequired": true
  },
  {
    "instance": {
      "key": {
        "publicId": "access_consent",
        "versionId": "1"
      },
      "param": [
        {
          "key": "consentTypes",
          "value": {
            "type": 2,
            "listItem": [
              {
                "type": 3,
                "mapKey": [
                  {
                    "type": 1,
                    "string": "consentType"
                  },
                  {
                    "type": 1,
                    "string": "read"
                  },
                  {
                    "type": 1,
                    "string": "write"
                  }
                ],
                "mapValue": [
                  {
                    "type": 1,
                    "string": "analytics_storage"
                  },
                  {
                    "type": 8,
                    "boolean": true
                  },
                  {
                    "type": 8,
                    "boolean": false
                  }
                ]
              }
            ]
          }
        }
      ]
    },
    "clientAnnotations": {
      "isEditedByUser": true
    },
    "isRequired": true
  }
]


___TESTS___

scenarios: []


___NOTES___

Levers setup tag. Trigger: Initialization - All Pages. Markup: data-levers="<experiment key>" on elements an experiment may change. For no flicker at all, also paste the one-line style from tag/README.md in <head>.
